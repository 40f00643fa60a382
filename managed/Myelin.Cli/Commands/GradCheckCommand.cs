using System.CommandLine;
using System.Globalization;
using Myelin.Autodiff;
using Myelin.Ops;

namespace Myelin.Cli.Commands;

/// <summary><c>myelin gradcheck [--op NAME] [--json]</c>: checks every registered op's gradient against finite differences.</summary>
internal static class GradCheckCommand
{
    public static Command Create()
    {
        var op = new Option<string?>("--op") { Description = "Check only this op (a registered name such as Conv)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var command = new Command("gradcheck", "Check every registered op's gradient against central finite differences (float64).") { op, json };
        command.SetAction(parseResult => CommandRunner.Run(parseResult, output =>
        {
            string? only = parseResult.GetValue(op);
            IReadOnlyList<OpDef> ops = GradCheck.CheckableOps;
            if (only is not null)
            {
                OpDef chosen = OpRegistry.Get(only);
                if (chosen.GradCheckCase is null)
                {
                    throw new MyelinException(Status.InvalidArgument, $"Op '{only}' has no gradient check: it is not differentiable, or is checked through the ops that create it.");
                }

                ops = [chosen];
            }

            bool asJson = parseResult.GetValue(json);
            var results = new List<GradCheckResult>();
            foreach (OpDef definition in ops)
            {
                GradCheckResult result = GradCheck.CheckOp(definition);
                results.Add(result);
                if (!asJson)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{(result.Ok ? "ok  " : "FAIL")} {result.Op,-32} max_rel_err {result.MaxRelativeError:E2}{(result.Message is null ? "" : "  " + result.Message)}"));
                }
            }

            int passed = results.Count(r => r.Ok);
            int failed = results.Count - passed;

            // With every op checked, account for the rest of the registry: the ops declared not differentiable.
            List<string> notDifferentiable = only is null ? GradCheck.NotDifferentiableOps.Select(o => o.Name).Order(StringComparer.Ordinal).ToList() : [];
            List<string> gradientPending = only is null ? GradCheck.GradientPendingOps.Select(o => o.Name).Order(StringComparer.Ordinal).ToList() : [];
            if (asJson)
            {
                output.WriteLine(JsonOutput.Serialize(new Report(passed, failed,
                    results.Select(r => new OpResult(r.Op, r.Ok, double.IsFinite(r.MaxRelativeError) ? r.MaxRelativeError : null)).ToList(), notDifferentiable, gradientPending)));
            }
            else
            {
                if (notDifferentiable.Count > 0) output.WriteLine($"{notDifferentiable.Count} ops not differentiable: {string.Join(", ", notDifferentiable)}");
                if (gradientPending.Count > 0) output.WriteLine($"{gradientPending.Count} ops without a gradient of their own yet (second derivatives through them fail): {string.Join(", ", gradientPending)}");
                output.WriteLine($"{passed} passed, {failed} failed");
            }

            return failed == 0 ? 0 : CommandRunner.FailureExitCode;
        }));
        return command;
    }

    private sealed record Report(int Passed, int Failed, IReadOnlyList<OpResult> Ops, IReadOnlyList<string> NotDifferentiable,
        IReadOnlyList<string> GradientPending);

    private sealed record OpResult(string Op, bool Ok, double? MaxRelErr);
}
