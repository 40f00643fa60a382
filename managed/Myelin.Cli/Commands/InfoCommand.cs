using System.CommandLine;

namespace Myelin.Cli.Commands;

/// <summary><c>myelin info [--json]</c>: versions, native library, CPU and devices.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line instead of a table." };
        var command = new Command("info", "Show the Myelin and native library versions, the CPU and the devices.") { json };
        command.SetAction(parseResult => CommandRunner.Run(parseResult, output =>
        {
            InfoReport report = Collect();
            if (parseResult.GetValue(json))
            {
                output.WriteLine(JsonOutput.Serialize(report));
            }
            else
            {
                WriteTable(output, report);
            }

            return 0;
        }));
        return command;
    }

    internal static InfoReport Collect()
    {
        var devices = new List<DeviceReport>();
        foreach (DeviceKind kind in Enum.GetValues<DeviceKind>())
        {
            int count = Device.Count(kind);
            for (int ordinal = 0; ordinal < count; ordinal++)
            {
                if (kind == DeviceKind.Cpu && ordinal == 0)
                {
                    devices.Add(new DeviceReport(KindName(kind), Device.Cpu.Name));
                    continue;
                }

                using Device device = Device.Open(kind, ordinal);
                devices.Add(new DeviceReport(KindName(kind), device.Name));
            }
        }

        return new InfoReport(
            Runtime.Version,
            Runtime.NativeVersion,
            Runtime.AbiVersion,
            Runtime.LibraryPath,
            new CpuReport(Runtime.CpuName, Runtime.CpuFeatureNames, Runtime.Isa.ToString().ToLowerInvariant(), Runtime.PhysicalCoreCount),
            Device.Cpu.ThreadCount,
            devices);
    }

    private static void WriteTable(TextWriter output, InfoReport report)
    {
        (string Label, string Value)[] rows =
        [
            ("Myelin version", report.Version),
            ("Native version", report.NativeVersion),
            ("ABI version", report.AbiVersion.ToString()),
            ("Native library", report.LibraryPath),
            ("CPU", report.Cpu.Name.Length == 0 ? "(unknown)" : report.Cpu.Name),
            ("CPU features", report.Cpu.Features.Count == 0 ? "(none)" : string.Join(' ', report.Cpu.Features)),
            ("ISA in use", report.Cpu.Isa),
            ("Physical cores", report.Cpu.PhysicalCores.ToString()),
            ("Threads", report.Threads.ToString()),
            ("Devices", string.Join(", ", report.Devices.Select(device => $"{device.Name} ({device.Kind})"))),
        ];
        int width = rows.Max(row => row.Label.Length);
        foreach ((string label, string value) in rows)
        {
            output.WriteLine($"{label.PadRight(width)}  {value}");
        }
    }

    private static string KindName(DeviceKind kind) => kind.ToString().ToLowerInvariant();

    internal sealed record InfoReport(
        string Version,
        string NativeVersion,
        int AbiVersion,
        string LibraryPath,
        CpuReport Cpu,
        int Threads,
        IReadOnlyList<DeviceReport> Devices);

    internal sealed record CpuReport(string Name, IReadOnlyList<string> Features, string Isa, int PhysicalCores);

    internal sealed record DeviceReport(string Kind, string Name);
}
