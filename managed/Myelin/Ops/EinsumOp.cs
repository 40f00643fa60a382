using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// ONNX Einsum (opset 12): a sum of products over the labelled axes of its inputs, as the <c>equation</c> attribute
/// says ("bij,bjk->bik"; without "->" the output is the labels that appear once, sorted; "..." stands for broadcast
/// axes, placed first in an implicit output). A composite: a label repeated within one input takes its diagonal
/// (a product with an identity mask, then a sum), labels that nothing later reads are summed out as soon as
/// possible, and the inputs are contracted pairwise, by one batched MatMul where the sizes are known (else a
/// broadcast Mul and a sum).
/// </summary>
public sealed class EinsumOp : CompositeOp
{
    // Labels standing for the axes of an ellipsis, after every letter so that they never clash.
    private const char FirstEllipsisLabel = '\u0100';

    /// <inheritdoc/>
    public override string Name => "Einsum";

    /// <inheritdoc/>
    public override int SinceVersion => 12;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override int MaxInputs => int.MaxValue;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("equation", AttrKind.String)];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(context);
        context.RequireSameFloat();
        (List<char>[] operands, List<char> output) = Parse((string)attributes["equation"], inputs, context);
        CheckSizes(inputs, operands, context);

        var terms = new List<(Value Value, List<char> Labels)>();
        for (int k = 0; k < inputs.Length; k++)
        {
            (Value value, List<char> labels) = Diagonal(inputs[k], [.. operands[k]], context);
            // A label no other operand has and the output lacks is summed out at once.
            int self = k;
            terms.Add(SumOut(value, labels, [.. labels.Where(l => output.Contains(l) || operands.Where((_, j) => j != self).Any(o => o.Contains(l)))]));
        }

        (Value product, List<char> productLabels) = terms[0];
        for (int k = 1; k < terms.Count; k++)
        {
            int folded = k;
            HashSet<char> keep = [.. productLabels.Concat(terms[k].Labels).Where(l => output.Contains(l) || operands.Skip(folded + 1).Any(o => o.Contains(l)))];
            (product, productLabels) = Contract(product, productLabels, terms[k].Value, terms[k].Labels, keep);
        }

        (product, productLabels) = SumOut(product, productLabels, [.. output]);
        long[] perm = [.. output.Select(l => (long)productLabels.IndexOf(l))];
        return [perm.Select((p, i) => p == i).All(same => same) ? product : product.Transpose(perm)];
    }

    /// <summary>Each operand's labels (ellipses expanded, right-aligned) and the output's.</summary>
    private static (List<char>[] Operands, List<char> Output) Parse(string equation, Value[] inputs, InferContext context)
    {
        string compact = equation.Replace(" ", "", StringComparison.Ordinal);
        string[] sides = compact.Split("->");
        if (sides.Length > 2) context.Fail($"equation \"{equation}\" has more than one \"->\"");
        string[] terms = sides[0].Split(',');
        if (terms.Length != inputs.Length) context.Fail($"equation \"{equation}\" has {terms.Length} operand(s) but the node has {inputs.Length} input(s)");

        int ellipsisRank = 0;
        var operands = new List<char>[terms.Length];
        for (int k = 0; k < terms.Length; k++)
        {
            string letters = terms[k].Replace("...", "", StringComparison.Ordinal);
            CheckLetters(letters, equation, context);
            int rank = inputs[k].Rank, ellipsis = rank - letters.Length;
            bool hasEllipsis = letters.Length != terms[k].Length;
            if (terms[k].Length - letters.Length > 3) context.Fail($"operand {k} \"{terms[k]}\" has more than one ellipsis");
            if (ellipsis < 0 || (!hasEllipsis && ellipsis != 0)) context.Fail($"operand {k} \"{terms[k]}\" does not fit input {k} of rank {rank}");
            ellipsisRank = Math.Max(ellipsisRank, ellipsis);
            int at = terms[k].IndexOf("...", StringComparison.Ordinal);
            operands[k] = hasEllipsis ? [.. terms[k][..at], .. new char[ellipsis], .. terms[k][(at + 3)..]] : [.. letters];
            for (int e = 0; e < ellipsis; e++) operands[k][at + e] = (char)(FirstEllipsisLabel + e);
        }

        // Right-align the ellipses: an operand with fewer broadcast axes takes the last labels.
        for (int k = 0; k < operands.Length; k++)
        {
            int shift = ellipsisRank - (inputs[k].Rank - operands[k].Count(l => l < FirstEllipsisLabel));
            for (int a = 0; a < operands[k].Count; a++)
            {
                if (operands[k][a] >= FirstEllipsisLabel) operands[k][a] = (char)(operands[k][a] + shift);
            }
        }

        List<char> ellipsisLabels = [.. Enumerable.Range(0, ellipsisRank).Select(e => (char)(FirstEllipsisLabel + e))];
        List<char> output;
        if (sides.Length == 2)
        {
            string letters = sides[1].Replace("...", "", StringComparison.Ordinal);
            CheckLetters(letters, equation, context);
            int at = sides[1].IndexOf("...", StringComparison.Ordinal);
            output = at < 0 ? [.. letters] : [.. sides[1][..at], .. ellipsisLabels, .. sides[1][(at + 3)..]];
            if (at < 0 && ellipsisRank > 0) context.Fail($"equation \"{equation}\" drops the ellipsis from its output");
            foreach (char label in letters)
            {
                if (letters.Count(l => l == label) > 1) context.Fail($"equation \"{equation}\" repeats '{label}' in its output");
                if (!operands.Any(o => o.Contains(label))) context.Fail($"equation \"{equation}\" has output label '{label}' that no operand has");
            }
        }
        else
        {
            IEnumerable<char> all = operands.SelectMany(o => o).Where(l => l < FirstEllipsisLabel);
            output = [.. ellipsisLabels, .. all.Distinct().Where(l => all.Count(m => m == l) == 1).Order()];
        }

        return (operands, output);
    }

    private static void CheckLetters(string labels, string equation, InferContext context)
    {
        foreach (char label in labels)
        {
            if (!char.IsAsciiLetter(label)) context.Fail($"equation \"{equation}\" has '{label}', which is not a letter, a ',', \"->\" or \"...\"");
        }
    }

    /// <summary>A label's known sizes must agree across its axes (ellipsis axes may also be 1, which broadcasts).</summary>
    private static void CheckSizes(Value[] inputs, List<char>[] operands, InferContext context)
    {
        var sizes = new Dictionary<char, (long Size, int Input)>();
        for (int k = 0; k < inputs.Length; k++)
        {
            for (int a = 0; a < operands[k].Count; a++)
            {
                char label = operands[k][a];
                Dim dim = inputs[k].Type[a];
                if (!dim.IsKnown || (label >= FirstEllipsisLabel && dim.Value == 1)) continue;
                if (sizes.TryGetValue(label, out var seen) && seen.Size != dim.Value)
                {
                    string name = label >= FirstEllipsisLabel ? "an ellipsis axis" : $"label '{label}'";
                    context.Fail($"{name} has size {seen.Size} in input {seen.Input} but {dim.Value} in input {k}");
                }

                sizes[label] = (dim.Value, k);
            }
        }
    }

    /// <summary>Takes the diagonal of every label repeated within one operand: x * identity over the two axes, summed over the second.</summary>
    private static (Value Value, List<char> Labels) Diagonal(Value x, List<char> labels, InferContext context)
    {
        for (int first = 0; first < labels.Count; first++)
        {
            int second = labels.IndexOf(labels[first], first + 1);
            if (second < 0) continue;
            Dim size = x.Type[first];
            if (!size.IsKnown) context.Fail($"label '{labels[first]}' repeats within an operand on a symbolic axis ({size}); its diagonal needs a known size");
            long n = size.Value;
            var identity = new double[n * n];
            for (long i = 0; i < n; i++) identity[i * n + i] = 1;
            long[] maskShape = [.. Enumerable.Repeat(1L, x.Rank)];
            maskShape[first] = n;
            maskShape[second] = n;
            using Tensor mask = Tensor.FromArray(identity, new Shape(maskShape));
            x = (x * x.Graph.Constant(mask.Cast(x.DType).MoveToOuterScope())).Sum([second]);
            labels.RemoveAt(second);
            first--;
        }

        return (x, labels);
    }

    /// <summary>
    /// The product of two terms with the labels outside <paramref name="keep"/> summed out. With every size known, one
    /// batched MatMul: a [batch, a-only, shared] times b [batch, shared, b-only], the label groups flattened by Reshape
    /// (the batch axes broadcast). Otherwise a broadcast Mul of the aligned terms, then a sum.
    /// </summary>
    private static (Value Value, List<char> Labels) Contract(Value a, List<char> aLabels, Value b, List<char> bLabels, HashSet<char> keep)
    {
        List<char> union = [.. aLabels, .. bLabels.Where(l => !aLabels.Contains(l))];
        if (!a.Type.IsConcrete || !b.Type.IsConcrete)
        {
            return SumOut(Align(a, aLabels, union) * Align(b, bLabels, union), union, keep);
        }

        List<char> batch = [.. aLabels.Where(l => bLabels.Contains(l) && keep.Contains(l))];
        List<char> shared = [.. aLabels.Where(l => bLabels.Contains(l) && !keep.Contains(l))];
        List<char> aOnly = [.. aLabels.Where(l => !bLabels.Contains(l))], bOnly = [.. bLabels.Where(l => !aLabels.Contains(l))];
        long Size(Value x, List<char> labels, char label) => x.Type[labels.IndexOf(label)].Value;
        long Product(Value x, List<char> labels, List<char> group) => group.Aggregate(1L, (n, l) => n * Size(x, labels, l));
        Value Matrix(Value x, List<char> labels, List<char> rows, List<char> columns)
        {
            x = Align(x, labels, [.. batch, .. rows, .. columns]);
            long[] shape = [.. batch.Select(_ => 0L), Product(x, [.. batch, .. rows, .. columns], rows), Product(x, [.. batch, .. rows, .. columns], columns)];
            return x.Graph.Apply("Reshape", [x, x.Graph.Constant(Tensor.FromArray(shape).MoveToOuterScope())])[0];
        }

        Value product = Matrix(a, aLabels, aOnly, shared).MatMul(Matrix(b, bLabels, shared, bOnly));
        long[] unflattened = [.. batch.Select(_ => 0L), .. aOnly.Select(l => Size(a, aLabels, l)), .. bOnly.Select(l => Size(b, bLabels, l))];
        product = product.Graph.Apply("Reshape", [product, product.Graph.Constant(Tensor.FromArray(unflattened).MoveToOuterScope())])[0];
        return SumOut(product, [.. batch, .. aOnly, .. bOnly], keep);
    }

    /// <summary>Sums out the axes whose labels are not in <paramref name="keep"/>.</summary>
    private static (Value Value, List<char> Labels) SumOut(Value x, List<char> labels, HashSet<char> keep)
    {
        long[] axes = [.. Enumerable.Range(0, labels.Count).Where(a => !keep.Contains(labels[a])).Select(a => (long)a)];
        return axes.Length == 0 ? (x, labels) : (x.Sum(axes), [.. labels.Where(keep.Contains)]);
    }

    /// <summary>x's axes put in <paramref name="target"/>'s order, with size-1 axes for the labels it lacks.</summary>
    private static Value Align(Value x, List<char> labels, List<char> target)
    {
        List<char> order = [.. target.Where(labels.Contains)];
        long[] perm = [.. order.Select(l => (long)labels.IndexOf(l))];
        if (perm.Select((p, i) => p != i).Any(moved => moved)) x = x.Transpose(perm);
        long[] missing = [.. Enumerable.Range(0, target.Count).Where(a => !labels.Contains(target[a])).Select(a => (long)a)];
        return missing.Length == 0 ? x : x.Graph.Apply("Unsqueeze", [x, x.Graph.Constant(Tensor.FromArray(missing).MoveToOuterScope())])[0];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 2, 3], [2, 3, 3]], Attributes: new() { ["equation"] = "bij,bjj->bi" });
}
