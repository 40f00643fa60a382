using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Autodiff;

/// <summary>The gradient of a weight that several Gemm nodes read (a recurrent layer's W_hh, once per step).</summary>
public class SharedWeightGradientTests
{
    [TestCase(false, TestName = "ProductsOfAWeightReadBySeveralGemmsSumAsOneGemmOverStackedRows(known rows 2, 3, 5)")]
    [TestCase(true, TestName = "ProductsOfAWeightReadBySeveralGemmsSumAsOneGemmOverStackedRows(symbolic batch rows)")]
    public void ProductsOfAWeightReadBySeveralGemmsSumAsOneGemmOverStackedRows(bool symbolicRows)
    {
        int[] rows = symbolicRows ? [4, 4, 4] : [2, 3, 5];
        const int Outputs = 4, Features = 3;
        var generator = new Generator(7);
        var g = new Graph();
        Value w = g.Input("w", DType.F64, Dim.Of(Outputs), Dim.Of(Features));
        var xs = new double[rows.Length][];
        var cs = new double[rows.Length][];
        var feeds = new Dictionary<string, Tensor>();
        Value? loss = null;
        for (int t = 0; t < rows.Length; t++)
        {
            xs[t] = new double[rows[t] * Features];
            cs[t] = new double[rows[t] * Outputs];
            generator.FillNormal(xs[t]);
            generator.FillNormal(cs[t]);
            Tensor xData = Tensor.FromArray(xs[t], new Shape(rows[t], Features)).MoveToOuterScope();
            Tensor cData = Tensor.FromArray(cs[t], new Shape(rows[t], Outputs)).MoveToOuterScope();
            Value x, c;
            if (symbolicRows)
            {
                x = g.Input($"x{t}", DType.F64, Dim.Sym("n"), Dim.Of(Features));
                c = g.Input($"c{t}", DType.F64, Dim.Sym("n"), Dim.Of(Outputs));
                (feeds[x.Name], feeds[c.Name]) = (xData, cData);
            }
            else
            {
                (x, c) = (g.Constant(xData), g.Constant(cData));
            }

            Value y = g.Apply("Gemm", [x, w], new Dictionary<string, object> { ["transB"] = 1L })[0];
            Value term = (y * c).Sum();
            loss = loss is null ? term : loss + term;
        }

        Value gradient = Gradients.Of(loss!, [w])[0]!;
        Assert.That(gradient.Producer!.Op.Name, Is.EqualTo("Gemm"), "one product, not a sum of three");
        Assert.That(gradient.Producer.Inputs.Select(i => i.Producer!.Op.Name), Is.EqualTo(symbolicRows ? new[] { "Flatten", "Flatten" } : new[] { "Concat", "Concat" }));

        // dL/dw = sum over t of c_t^T x_t, written out.
        var expected = new double[Outputs * Features];
        for (int t = 0; t < rows.Length; t++)
        {
            for (int n = 0; n < rows[t]; n++)
            {
                for (int i = 0; i < Outputs; i++)
                {
                    for (int j = 0; j < Features; j++) expected[i * Features + j] += cs[t][n * Outputs + i] * xs[t][n * Features + j];
                }
            }
        }

        g.MarkOutput(gradient);
        using CompiledGraph compiled = CompiledGraph.Compile(g);
        var w0 = new double[Outputs * Features];
        generator.FillNormal(w0);
        feeds["w"] = Tensor.FromArray(w0, new Shape(Outputs, Features)).MoveToOuterScope();
        double[] got = compiled.Run(feeds)[0].ToArray<double>();
        Approx.AssertClose(got, expected, absolute: 1e-12, relative: 1e-12);
    }
}
