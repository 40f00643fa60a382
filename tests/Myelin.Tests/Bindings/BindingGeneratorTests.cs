using Myelin.Bindings.Generator;
using NUnit.Framework;

namespace Myelin.Tests.Bindings;

/// <summary>The generator on small headers, one rule of bindings/README.md at a time.</summary>
[TestFixture]
public sealed class BindingGeneratorTests
{
    private const string Prelude = "#include <stddef.h>\n#include <stdint.h>\n#define MLN_API\n";

    private TempDirectory _temp = null!;

    [SetUp]
    public void SetUp()
    {
        BindingTestSupport.RequireLibClang();
        _temp = new TempDirectory();
    }

    [TearDown]
    public void TearDown() => _temp?.Dispose();

    private string HeaderFile(string body)
    {
        string path = _temp.File("test.h");
        File.WriteAllText(path, Prelude + body);
        return path;
    }

    private string Generate(string body) => BindingGenerator.Generate(HeaderFile(body));

    [Test]
    public void EnumsArePascalCasedWithoutTheirPrefix()
    {
        string output = Generate("""
            typedef enum mln_cpu_features {
                MLN_CPU_FEATURES_NONE = 0,
                MLN_CPU_FEATURES_SSE4_2 = 1,
                MLN_CPU_FEATURES_AVX512F = 2,
                MLN_CPU_FEATURES_AVX512BW = 4
            } mln_cpu_features;
            typedef enum mln_dtype { MLN_DTYPE_F32 = 1, MLN_DTYPE_BF16 = 16 } mln_dtype;
            typedef enum mln_unary_op { MLN_UNARY_OP_GELU = 7 } mln_unary_op;
            """);

        Assert.That(output, Does.Contain("namespace Myelin\n{\n    [Flags]\n    public enum CpuFeatures : int\n    {\n"));
        Assert.That(output, Does.Contain("        None = 0,\n        Sse42 = 1,\n        Avx512F = 2,\n        Avx512Bw = 4,\n"));
        Assert.That(output, Does.Contain("    public enum DType : int\n    {\n        F32 = 1,\n        Bf16 = 16,\n    }"));
        Assert.That(output, Does.Contain("\n\n    public enum UnaryOp : int\n    {\n        Gelu = 7,\n"), "UnaryOp is not [Flags]");
    }

    [Test]
    public void EnumsNamedFlagsAreFlags()
    {
        string output = Generate("typedef enum mln_open_flags { MLN_OPEN_FLAGS_READ = 1, MLN_OPEN_FLAGS_WRITE = 2 } mln_open_flags;");

        Assert.That(output, Does.Contain("[Flags]\n    public enum OpenFlags : int"));
    }

    [Test]
    public void AnonymousEnumTakesTheTypedefName()
    {
        string output = Generate("typedef enum { MLN_COLOR_RED = 3 } mln_color;\nMLN_API void mln_paint(mln_color color);");

        Assert.That(output, Does.Contain("public enum Color : int\n    {\n        Red = 3,"));
        Assert.That(output, Does.Contain("public static partial void Paint(Color color);"));
    }

    [Test]
    public void StructArraysBecomeFixedBuffersSizedByClang()
    {
        string output = Generate("""
            #define MLN_MAX_RANK 4
            typedef enum mln_dtype { MLN_DTYPE_F32 = 1 } mln_dtype;
            typedef struct mln_tensor_desc {
                void* data;
                mln_dtype dtype;
                int64_t shape[MLN_MAX_RANK];
                float weights[MLN_MAX_RANK * 2];
            } mln_tensor_desc;
            typedef struct mln_stats { int64_t live_bytes; size_t count; uint8_t flag; } mln_stats;
            """);

        Assert.That(output, Does.Contain(
            "namespace Myelin.Native\n{\n    [StructLayout(LayoutKind.Sequential)]\n    public unsafe struct TensorDesc\n    {\n" +
            "        public void* Data;\n        public DType DType;\n        public fixed long Shape[4];\n        public fixed float Weights[8];\n    }"));
        Assert.That(output, Does.Contain(
            "    public struct Stats\n    {\n        public long LiveBytes;\n        public nuint Count;\n        public byte Flag;\n    }"));
    }

    [Test]
    public void OpaqueHandlesBecomeSafeHandlesAndDestroyTakesTheRawPointer()
    {
        string output = Generate("""
            typedef enum mln_status { MLN_STATUS_OK = 0 } mln_status;
            typedef struct mln_graph mln_graph;
            MLN_API mln_status mln_graph_create(int32_t nodes, mln_graph** out_graph);
            MLN_API void mln_graph_destroy(mln_graph* graph);
            MLN_API mln_status mln_graph_get_name(const mln_graph* graph, const char** out_name);
            MLN_API void mln_graph_free(mln_graph* graph, void* ptr, const int32_t* axes);
            """);

        Assert.That(output, Does.Contain(
            "[LibraryImport(LibraryName, EntryPoint = \"mln_graph_create\")]\n" +
            "        [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]\n" +
            "        public static partial Status GraphCreate(int nodes, out GraphHandle outGraph);"));
        Assert.That(output, Does.Contain("public static partial void GraphDestroy(nint graph);"));
        Assert.That(output, Does.Contain("public static partial Status GraphGetName(GraphHandle graph, byte** outName);"));
        Assert.That(output, Does.Contain("public static partial void GraphFree(GraphHandle graph, void* ptr, int* axes);"));
    }

    [Test]
    public void StringsAreBytePointersOutAndUtf8StringsIn()
    {
        string output = Generate("""
            MLN_API const char* mln_version(void);
            MLN_API void mln_log(const char* text, char* buffer);
            """);

        Assert.That(output, Does.Contain("public static partial byte* Version();"));
        Assert.That(output, Does.Contain(
            "[LibraryImport(LibraryName, EntryPoint = \"mln_log\", StringMarshalling = StringMarshalling.Utf8)]\n" +
            "        [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]\n" +
            "        public static partial void Log(string text, byte* buffer);"));
        Assert.That(output, Does.Not.Contain("EntryPoint = \"mln_version\", StringMarshalling"));
    }

    [Test]
    public void IntegerMacrosBecomeConstants()
    {
        string output = Generate("""
            #define MLN_ABI_VERSION 3
            #define MLN_BIG 0x100000000
            #define MLN_OCTAL 010u
            #define MLN_SQUARE(x) ((x) * (x))
            #define MLN_NAME "myelin"
            #define MLN_SUM (1 + 2)
            #define OTHER_LIMIT 5
            MLN_API int32_t mln_abi_version(void);
            """);

        Assert.That(output, Does.Contain("public const int AbiVersion = 3;"));
        Assert.That(output, Does.Contain("public const long Big = 4294967296;"));
        Assert.That(output, Does.Contain("public const int Octal = 8;"));
        // Function-like, string, expression and unprefixed macros are not constants.
        Assert.That(output.Split('\n').Count(l => l.Contains("public const ", StringComparison.Ordinal)), Is.EqualTo(3));
        // The function would clash with the constant; README: it gets a Get prefix.
        Assert.That(output, Does.Contain("public static partial int GetAbiVersion();"));
    }

    [Test]
    public void CommentsBecomeXmlDocs()
    {
        string output = Generate("""
            /* ---- Section banner ---- */

            /* Says hello & returns <0> on "failure".
             * Second line. */
            MLN_API int32_t mln_hello(void);
            // No blank line: documents mln_bye.
            MLN_API void mln_bye(void);
            typedef enum mln_color {
                MLN_COLOR_RED = 0, /* warm */
                MLN_COLOR_BLUE = 1
            } mln_color;
            typedef struct mln_point {
                int32_t x; /* across */
                /* down */
                int32_t y;
            } mln_point;
            """);

        Assert.That(output, Does.Contain(
            "        /// <summary>\n        /// Says hello &amp; returns &lt;0&gt; on \"failure\".\n        /// Second line.\n        /// </summary>\n" +
            "        [LibraryImport(LibraryName, EntryPoint = \"mln_hello\")]"));
        Assert.That(output, Does.Contain("/// No blank line: documents mln_bye.\n        /// </summary>\n        [LibraryImport(LibraryName, EntryPoint = \"mln_bye\")]"));
        Assert.That(output, Does.Not.Contain("Section banner"));
        // The comment after RED documents RED, not BLUE below it.
        Assert.That(output, Does.Contain("    public enum Color : int\n    {\n        /// <summary>\n        /// warm\n        /// </summary>\n        Red = 0,\n        Blue = 1,\n"));
        Assert.That(output, Does.Contain("/// across\n        /// </summary>\n        public int X;\n        /// <summary>\n        /// down\n        /// </summary>\n        public int Y;"));
    }

    [TestCase("MLN_API long mln_width(void);", "mln_width")]
    [TestCase("MLN_API void mln_on_event(void (*callback)(int32_t));", "mln_on_event(callback)")]
    [TestCase("typedef struct mln_bits { int32_t flag : 1; } mln_bits;", "mln_bits.flag")]
    [TestCase("typedef struct mln_thing mln_thing;\nMLN_API void mln_take(mln_thing thing);", "mln_take")]
    [TestCase("typedef union mln_any { int32_t i; float f; } mln_any;", "mln_any")]
    [TestCase("MLN_API void mln_print(const char* format, ...);", "mln_print")]
    [TestCase("typedef enum mln_mode { MODE_FAST = 0 } mln_mode;", "MODE_FAST")]
    public void AnUnmappableDeclarationIsNamedInTheError(string declaration, string expectedName)
    {
        var error = Assert.Throws<BindingGeneratorException>(() => Generate(declaration));

        Assert.That(error!.Message, Does.StartWith(expectedName));
    }

    [Test]
    public void AHeaderThatDoesNotCompileIsAnError()
    {
        var error = Assert.Throws<BindingGeneratorException>(() => Generate("MLN_API mln_unknown_t mln_f(void);"));

        Assert.That(error!.Message, Does.Contain("clang reported errors").And.Contain("mln_unknown_t"));
    }

    [Test]
    public void OutputIsDeterministicWithUnixLineEndings()
    {
        string header = HeaderFile("/* A. */\ntypedef enum mln_a { MLN_A_X = 1 } mln_a;\nMLN_API void mln_f(mln_a a);\n");

        string first = BindingGenerator.Generate(header);
        string second = BindingGenerator.Generate(header);

        Assert.That(second, Is.EqualTo(first));
        Assert.That(first, Does.StartWith("// <auto-generated>\n// Generated from test.h by Myelin.Bindings.Generator."));
        Assert.That(first, Does.Not.Contain("\r"));
        Assert.That(first, Does.EndWith("}\n"));
    }

    [Test]
    public void MainWritesTheFileAndCheckComparesIt()
    {
        string header = HeaderFile("MLN_API void mln_f(void);\n");
        string output = _temp.File("out.g.cs");

        Assert.That(RunGenerator([header, output]).Code, Is.EqualTo(0));
        Assert.That(File.ReadAllText(output), Is.EqualTo(BindingGenerator.Generate(header)));
        var upToDate = RunGenerator(["--check", header, output]);
        Assert.That(upToDate.Code, Is.EqualTo(0));
        Assert.That(upToDate.Output, Does.Contain("is up to date"));

        File.AppendAllText(output, "// edited\n");
        var outOfDate = RunGenerator(["--check", header, output]);
        Assert.That(outOfDate.Code, Is.EqualTo(1));
        Assert.That(outOfDate.Error, Does.Contain("is out of date").And.Contain("regenerate"));
        var usage = RunGenerator([header]);
        Assert.That(usage.Code, Is.EqualTo(2), "usage error");
        Assert.That(usage.Error, Does.StartWith("usage:"));
    }

    [Test]
    public void AFailedGenerationLeavesTheOutputUntouched()
    {
        string output = _temp.File("out.g.cs");
        File.WriteAllText(output, "previous");

        var failed = RunGenerator([HeaderFile("MLN_API long mln_width(void);"), output]);
        Assert.That(failed.Code, Is.EqualTo(1));
        Assert.That(failed.Error, Does.Contain("mln_width").And.Contain("'long'"));
        Assert.That(File.ReadAllText(output), Is.EqualTo("previous"));
        Assert.That(Directory.GetFiles(_temp.Path), Has.Length.EqualTo(2), "no temporary file is left behind");
    }

    private static (int Code, string Output, string Error) RunGenerator(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = Myelin.Bindings.Generator.Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
