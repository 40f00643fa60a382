using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>
/// Myelin's fused elementwise chain: one <c>mln_eltwise_program</c> call that evaluates a short program of unary and
/// binary ops in a single pass over the output, so intermediates never reach memory. The
/// <see cref="Passes.ElementwiseFusion"/> pass makes it from chains of elementwise nodes after autodiff, so it has no
/// gradient.
/// </summary>
/// <remarks>
/// Attribute <c>program</c> holds <see cref="FieldsPerInstruction"/> integers per instruction (kind, op, dst, src0,
/// src1; see <c>mln_eltwise_instruction</c>) and <c>params</c> the two parameters (alpha, beta) of each instruction.
/// Registers 0..inputs-1 are the inputs; the last instruction's dst is the output.
/// </remarks>
public sealed unsafe class FusedElementwiseOp : OpDef
{
    /// <summary>Integers per instruction in the <c>program</c> attribute.</summary>
    public const int FieldsPerInstruction = 5;

    /// <inheritdoc/>
    public override string Name => "FusedElementwise";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override int MaxInputs => NativeMethods.EltwiseMaxInputs;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("program", AttrKind.Ints), new("params", AttrKind.Floats)];

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    public override bool IsElementwise => true;

    /// <summary>The node's instructions, decoded from its attributes.</summary>
    public static EltwiseInstruction[] Instructions(Node node)
    {
        long[] program = node.GetInts("program")!;
        var parameters = (double[])node.Attributes["params"];
        var instructions = new EltwiseInstruction[program.Length / FieldsPerInstruction];
        for (int k = 0; k < instructions.Length; k++)
        {
            int at = k * FieldsPerInstruction;
            instructions[k] = new EltwiseInstruction
            {
                Kind = (int)program[at], Op = (int)program[at + 1], Dst = (int)program[at + 2], Src0 = (int)program[at + 3],
                Src1 = (int)program[at + 4], Alpha = parameters[2 * k], Beta = parameters[2 * k + 1],
            };
        }

        return instructions;
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.RequireSameFloat();
        long[] program = context.Node.GetInts("program")!;
        var parameters = (double[])context.Node.Attributes["params"];
        int count = program.Length / FieldsPerInstruction;
        if (program.Length % FieldsPerInstruction != 0 || count < 1 || count > NativeMethods.EltwiseMaxInstructions)
        {
            context.Fail($"program has {program.Length} integers; it needs {FieldsPerInstruction} per instruction and 1 to {NativeMethods.EltwiseMaxInstructions} instructions");
        }

        if (parameters.Length != 2 * count) context.Fail($"params has {parameters.Length} values but {count} instructions need {2 * count}");
        TensorType shape = context.Input(0);
        for (int i = 1; i < context.Inputs.Length; i++)
        {
            shape = new TensorType(dtype, context.Broadcast(shape, context.Input(i)));
        }

        return [shape];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        // The native call takes the inputs as one array of descriptors; copies made once per plan (the plan's
        // descriptors never change after binding).
        var inputs = GC.AllocateArray<TensorDesc>(context.InputCount, pinned: true);
        for (int i = 0; i < inputs.Length; i++) inputs[i] = *context.Input(i);
        EltwiseInstruction[] source = Instructions(context.Node);
        var program = GC.AllocateArray<EltwiseInstruction>(source.Length, pinned: true);
        source.CopyTo(program, 0);
        return new EltwiseProgramLaunch(program, inputs, context.Output(0));
    }
}

/// <summary>y = the program over the inputs; owns the pinned instruction and descriptor arrays for the plan's life.</summary>
public sealed unsafe class EltwiseProgramLaunch(EltwiseInstruction[] program, TensorDesc[] inputs, TensorDesc* y) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device)
    {
        // Both arrays come from the pinned heap, so their addresses are stable.
        fixed (EltwiseInstruction* instructions = program)
        fixed (TensorDesc* descs = inputs)
        {
            NativeMethods.Check(NativeMethods.EltwiseProgram(device, instructions, program.Length, descs, inputs.Length, y));
        }
    }
}
