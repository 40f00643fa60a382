using System.Globalization;
using System.Text;

namespace Myelin.Data;

/// <summary>A CSV column named by its header name or by its 0-based index; strings and ints convert to it.</summary>
public readonly record struct CsvColumn
{
    private CsvColumn(string? name, int index)
    {
        Name = name;
        Index = index;
    }

    /// <summary>The header name, or null for a column given by index.</summary>
    public string? Name { get; }

    /// <summary>The 0-based index (meaningful when <see cref="Name"/> is null).</summary>
    public int Index { get; }

    /// <summary>The column with header <paramref name="name"/>.</summary>
    public static implicit operator CsvColumn(string name) => new(name ?? throw new ArgumentNullException(nameof(name)), -1);

    /// <summary>The column at 0-based <paramref name="index"/>.</summary>
    public static implicit operator CsvColumn(int index) => new(null, index);

    /// <summary>The name in quotes, or "#index".</summary>
    public override string ToString() => Name is null ? $"#{Index}" : $"'{Name}'";
}

/// <summary>How a categorical feature column becomes numbers.</summary>
public enum CategoricalEncoding
{
    /// <summary>One feature per category: 1 for the sample's category, 0 for the others.</summary>
    OneHot,

    /// <summary>One feature holding the category's index in the category list.</summary>
    Index,
}

/// <summary>Options of <see cref="CsvDataset.Load(string, CsvOptions)"/>.</summary>
public sealed record CsvOptions
{
    /// <summary>The field separator.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>Whether the first row holds column names; null detects it (a header has text where the next row has numbers).</summary>
    public bool? HasHeader { get; init; }

    /// <summary>The target column; null takes the last column.</summary>
    public CsvColumn? Target { get; init; }

    /// <summary>Whether the target is a class label (an integer, or a category index if categorical) rather than a float value.</summary>
    public bool TargetIsClassLabel { get; init; } = true;

    /// <summary>The feature columns, in this order; null takes every column but the target.</summary>
    public IReadOnlyList<CsvColumn>? Features { get; init; }

    /// <summary>Columns holding categories rather than numbers (a categorical target gives labels by category index).</summary>
    public IReadOnlyList<CsvColumn> Categorical { get; init; } = [];

    /// <summary>How categorical feature columns are encoded.</summary>
    public CategoricalEncoding Encoding { get; init; } = CategoricalEncoding.OneHot;

    /// <summary>
    /// Category lists to reuse, by header name or "#index" (such as <see cref="CsvDataset.Categories"/> of the
    /// training file, so a test file is encoded alike); a value not in a given list is an error. Columns not listed
    /// here take their categories from the file, sorted ordinally.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? KnownCategories { get; init; }
}

/// <summary>A dataset read from CSV, with the names of its features and the categories of its categorical columns.</summary>
public sealed class CsvDataset
{
    private CsvDataset(InMemoryDataset dataset, IReadOnlyList<string> featureNames, IReadOnlyDictionary<string, IReadOnlyList<string>> categories)
    {
        Dataset = dataset;
        FeatureNames = featureNames;
        Categories = categories;
    }

    /// <summary>The samples: features [N, F] and targets.</summary>
    public InMemoryDataset Dataset { get; }

    /// <summary>The name of every feature, such as "color=red" for a one-hot category ("#3" names an unnamed column).</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>The categories of every categorical column, by column name (or "#index"), in encoding order.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Categories { get; }

    /// <summary>Reads the CSV file at <paramref name="path"/> (gzip-compressed when the name ends in .gz).</summary>
    /// <exception cref="FormatException">A row or value is malformed; the message names the file, line and column.</exception>
    public static CsvDataset Load(string path, CsvOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using Stream file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress)
            : file;
        using var reader = new StreamReader(stream);
        return Read(reader, options, path);
    }

    /// <summary>Reads CSV text from <paramref name="reader"/>; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="FormatException">A row or value is malformed; the message names the line and column.</exception>
    public static CsvDataset Read(TextReader reader, CsvOptions? options = null, string source = "CSV")
    {
        ArgumentNullException.ThrowIfNull(reader);
        options ??= new CsvOptions();
        List<(int Line, string[] Fields)> rows = CsvParser.Parse(reader, options.Delimiter, source);
        if (rows.Count == 0)
        {
            throw new FormatException($"{source} holds no rows.");
        }

        int width = rows[0].Fields.Length;
        foreach ((int line, string[] fields) in rows)
        {
            if (fields.Length != width)
            {
                throw new FormatException($"{source} line {line}: {fields.Length} fields where the first row has {width}.");
            }
        }

        bool header = options.HasHeader ?? DetectHeader(rows);
        string[] names = header ? rows[0].Fields.Select(f => f.Trim()).ToArray() : [.. Enumerable.Range(0, width).Select(i => $"#{i}")];
        List<(int Line, string[] Fields)> data = header ? rows[1..] : rows;

        int target = options.Target is CsvColumn t ? Resolve(t, names, header, source) : width - 1;
        int[] features = options.Features is { } selected
            ? [.. selected.Select(c => Resolve(c, names, header, source))]
            : [.. Enumerable.Range(0, width).Where(i => i != target)];
        if (features.Contains(target))
        {
            throw new ArgumentException($"Column {names[target]} of {source} is the target and cannot also be a feature.", nameof(options));
        }

        var categorical = new HashSet<int>(options.Categorical.Select(c => Resolve(c, names, header, source)));
        var categories = new Dictionary<string, IReadOnlyList<string>>();
        var categoryIndex = new Dictionary<int, Dictionary<string, int>>();
        foreach (int column in categorical.Order())
        {
            IReadOnlyList<string> list = options.KnownCategories is { } known && known.TryGetValue(names[column], out IReadOnlyList<string>? given)
                ? given
                : [.. data.Select(r => r.Fields[column].Trim()).Distinct().Order(StringComparer.Ordinal)];
            categories[names[column]] = list;
            categoryIndex[column] = list.Select((value, i) => (value, i)).ToDictionary(p => p.value, p => p.i);
        }

        var featureNames = new List<string>();
        foreach (int column in features)
        {
            if (categorical.Contains(column) && options.Encoding == CategoricalEncoding.OneHot)
            {
                featureNames.AddRange(categories[names[column]].Select(c => $"{names[column]}={c}"));
            }
            else
            {
                featureNames.Add(names[column]);
            }
        }

        var values = new float[(long)data.Count * featureNames.Count];
        var labels = new long[options.TargetIsClassLabel ? data.Count : 0];
        var targets = new float[options.TargetIsClassLabel ? 0 : data.Count];
        int position = 0;
        for (int r = 0; r < data.Count; r++)
        {
            (int line, string[] fields) = data[r];
            foreach (int column in features)
            {
                if (!categorical.Contains(column))
                {
                    values[position++] = ParseNumber(fields[column], line, names[column], source);
                }
                else
                {
                    int index = Category(fields[column], categoryIndex[column], line, names[column], source);
                    if (options.Encoding == CategoricalEncoding.Index)
                    {
                        values[position++] = index;
                    }
                    else
                    {
                        values[position + index] = 1;
                        position += categoryIndex[column].Count;
                    }
                }
            }

            if (categorical.Contains(target))
            {
                int index = Category(fields[target], categoryIndex[target], line, names[target], source);
                if (options.TargetIsClassLabel)
                {
                    labels[r] = index;
                }
                else
                {
                    targets[r] = index;
                }
            }
            else if (options.TargetIsClassLabel)
            {
                float value = ParseNumber(fields[target], line, names[target], source);
                if (value < 0 || value != MathF.Floor(value))
                {
                    throw new FormatException(
                        $"{source} line {line}, column {names[target]}: class label '{fields[target].Trim()}' is not a non-negative integer; "
                        + "list the column as categorical, or read it as a value.");
                }

                labels[r] = (long)value;
            }
            else
            {
                targets[r] = ParseNumber(fields[target], line, names[target], source);
            }
        }

        InMemoryDataset dataset = options.TargetIsClassLabel
            ? InMemoryDataset.FromLabels(values, [featureNames.Count], labels)
            : InMemoryDataset.FromValues(values, [featureNames.Count], targets, [], data.Count);
        return new CsvDataset(dataset, featureNames, categories);
    }

    /// <summary>A header has some text field above a field that the next row holds as a number.</summary>
    private static bool DetectHeader(List<(int Line, string[] Fields)> rows)
    {
        if (rows.Count < 2)
        {
            return rows[0].Fields.All(f => !IsNumber(f));
        }

        string[] first = rows[0].Fields, second = rows[1].Fields;
        return Enumerable.Range(0, first.Length).Any(i => !IsNumber(first[i]) && IsNumber(second[i]));
    }

    private static bool IsNumber(string field) =>
        float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static float ParseNumber(string field, int line, string column, string source)
    {
        if (float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
        {
            return value;
        }

        string problem = field.Trim().Length == 0 ? "the value is missing" : $"'{field}' is not a number";
        throw new FormatException($"{source} line {line}, column {column}: {problem} (list the column as categorical if it holds categories).");
    }

    private static int Category(string field, Dictionary<string, int> index, int line, string column, string source) =>
        index.TryGetValue(field.Trim(), out int value)
            ? value
            : throw new FormatException($"{source} line {line}, column {column}: '{field.Trim()}' is not one of the known categories [{string.Join(", ", index.Keys)}].");

    private static int Resolve(CsvColumn column, string[] names, bool header, string source)
    {
        if (column.Name is null)
        {
            if (column.Index < 0 || column.Index >= names.Length)
            {
                throw new ArgumentException($"Column index {column.Index} is outside the {names.Length} columns of {source}.");
            }

            return column.Index;
        }

        int found = Array.IndexOf(names, column.Name);
        if (found < 0)
        {
            throw new ArgumentException(header
                ? $"{source} has no column '{column.Name}'; its columns are {string.Join(", ", names)}."
                : $"{source} has no header row, so column '{column.Name}' cannot be found by name; give its index.");
        }

        return found;
    }
}

/// <summary>RFC 4180 parsing: quoted fields may hold delimiters, doubled quotes and line breaks; blank lines are skipped.</summary>
internal static class CsvParser
{
    internal static List<(int Line, string[] Fields)> Parse(TextReader reader, char delimiter, string source)
    {
        var rows = new List<(int, string[])>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, rowLine = 1;
        bool quoted = false, fieldWasQuoted = false, rowHasContent = false;
        while (true)
        {
            int next = reader.Read();
            if (quoted)
            {
                if (next < 0)
                {
                    throw new FormatException($"{source} line {rowLine}: a quoted field is not closed before the end of the file.");
                }

                char c = (char)next;
                if (c == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    if (c == '\n')
                    {
                        line++;
                    }

                    field.Append(c);
                }

                continue;
            }

            if (next < 0 || next == '\n' || next == '\r')
            {
                if (next == '\r' && reader.Peek() == '\n')
                {
                    reader.Read();
                }

                if (rowHasContent)
                {
                    fields.Add(field.ToString());
                    rows.Add((rowLine, fields.ToArray()));
                }

                fields.Clear();
                field.Clear();
                fieldWasQuoted = false;
                rowHasContent = false;
                if (next < 0)
                {
                    return rows;
                }

                line++;
                rowLine = line;
                continue;
            }

            char ch = (char)next;
            if (ch == delimiter)
            {
                fields.Add(field.ToString());
                field.Clear();
                fieldWasQuoted = false;
                rowHasContent = true;
            }
            else if (ch == '"' && field.ToString().Trim().Length == 0 && !fieldWasQuoted)
            {
                field.Clear();
                quoted = true;
                fieldWasQuoted = true;
                rowHasContent = true;
            }
            else if (ch == '"' || fieldWasQuoted && !char.IsWhiteSpace(ch))
            {
                throw new FormatException($"{source} line {line}: a stray quote or text after a closing quote in field {fields.Count + 1}.");
            }
            else
            {
                field.Append(ch);
                rowHasContent |= !char.IsWhiteSpace(ch);
            }
        }
    }
}
