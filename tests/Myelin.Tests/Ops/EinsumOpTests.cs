using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class EinsumOpTests
{
    /// <summary>
    /// Plain einsum over an equation of letters with an explicit output: loops over every assignment of the labels,
    /// a size-1 axis broadcasting against the label's size.
    /// </summary>
    private static double[] Reference(string equation, double[][] data, long[][] shapes)
    {
        string[] sides = equation.Split("->");
        string[] terms = sides[0].Split(',');
        var size = new Dictionary<char, long>();
        for (int k = 0; k < terms.Length; k++)
        {
            for (int a = 0; a < terms[k].Length; a++) size[terms[k][a]] = Math.Max(size.GetValueOrDefault(terms[k][a], 1), shapes[k][a]);
        }

        char[] labels = [.. size.Keys];
        var result = new double[sides[1].Aggregate(1L, (n, l) => n * size[l])];
        var at = new Dictionary<char, long>();
        void Loop(int depth)
        {
            if (depth == labels.Length)
            {
                double product = 1;
                for (int k = 0; k < terms.Length; k++)
                {
                    long flat = 0;
                    for (int a = 0; a < terms[k].Length; a++) flat = flat * shapes[k][a] + (shapes[k][a] == 1 ? 0 : at[terms[k][a]]);
                    product *= data[k][flat];
                }

                result[sides[1].Aggregate(0L, (flat, l) => flat * size[l] + at[l])] += product;
                return;
            }

            for (long i = 0; i < size[labels[depth]]; i++)
            {
                at[labels[depth]] = i;
                Loop(depth + 1);
            }
        }

        Loop(0);
        return result;
    }

    // equation, the same equation in letters with an explicit output (the reference's form), input shapes.
    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData("ij,jk->ik", "ij,jk->ik", new long[][] { [2, 3], [3, 4] }).SetName("Einsum_MatMul");
        yield return new TestCaseData("ii", "ii->", new long[][] { [3, 3] }).SetName("Einsum_ImplicitTrace");
        yield return new TestCaseData("bij,bjk", "bij,bjk->ik", new long[][] { [2, 2, 3], [2, 3, 2] }).SetName("Einsum_ImplicitSumsTheSharedBatchLabel");
        yield return new TestCaseData("...ij,...jk->...ik", "abij,bjk->abik", new long[][] { [2, 1, 2, 3], [3, 3, 2] }).SetName("Einsum_BroadcastEllipsis");
        yield return new TestCaseData("ij,jk,kl->il", "ij,jk,kl->il", new long[][] { [2, 3], [3, 2], [2, 4] }).SetName("Einsum_ThreeOperandChain");
        yield return new TestCaseData("i,j", "i,j->ij", new long[][] { [3], [2] }).SetName("Einsum_ImplicitOuter");
        yield return new TestCaseData("iij->ji", "iij->ji", new long[][] { [3, 3, 2] }).SetName("Einsum_DiagonalTransposed");
        yield return new TestCaseData("bi,bi->b", "bi,bi->b", new long[][] { [3, 4], [3, 4] }).SetName("Einsum_RowwiseDot");
    }

    [TestCaseSource(nameof(Cases))]
    public void EinsumMatchesAPlainReference(string equation, string explicitEquation, long[][] shapes)
    {
        double[][] data = [.. shapes.Select((s, k) => Distinct(s.Aggregate(1L, (n, d) => n * d), 0.3 + k * 0.1))];
        Tensor y = Run((g, v) => [g.Apply("Einsum", v, new Dictionary<string, object> { ["equation"] = equation })[0]],
            [.. data.Select((d, k) => new Feed(d, shapes[k]))])[0];
        Approx.AssertClose(y.ToArray<double>(), Reference(explicitEquation, data, shapes), 1e-10, 1e-10);
    }

    [Test]
    public void EinsumOverASymbolicBatchMatchesAPlainReference()
    {
        // A symbolic size takes the broadcast-product path rather than the reshaped MatMul.
        long[][] shapes = [[2, 2, 3], [2, 3, 4]];
        double[][] data = [Distinct(12, 0.3), Distinct(24, 0.2)];
        Tensor y = Run((g, v) => [g.Apply("Einsum", v, new Dictionary<string, object> { ["equation"] = "bij,bjk->bki" })[0]],
            new Feed(data[0], shapes[0], [Dim.Sym("B"), 2, 3]), new Feed(data[1], shapes[1], [Dim.Sym("B"), 3, 4]))[0];
        Approx.AssertClose(y.ToArray<double>(), Reference("bij,bjk->bki", data, shapes), 1e-10, 1e-10);
    }

    [Test]
    public void BadEquationsFailNamingTheNode()
    {
        var g = new Graph();
        Value a = g.Input("a", DType.F32, 2, 3), b = g.Input("b", DType.F32, 4, 2);
        void Fails(string equation, Value[] inputs, string problem)
        {
            var error = Assert.Throws<GraphValidationException>(() => g.Apply("Einsum", inputs, new Dictionary<string, object> { ["equation"] = equation }, $"e{equation.Length}{problem.Length}"));
            Assert.That(error!.Message, Does.Contain("(Einsum)").And.Contain(problem), equation);
        }

        Fails("ij,jk->ik", [a, b], "size 3 in input 0 but 4 in input 1");
        Fails("ij->ik", [a], "output label 'k'");
        Fails("ij,jk", [a], "2 operand(s)");
        Fails("ijk", [a], "does not fit input 0");
        Fails("i1", [a], "not a letter");
    }
}
