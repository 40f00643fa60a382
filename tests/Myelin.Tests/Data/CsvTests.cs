using Myelin.Data;
using NUnit.Framework;

namespace Myelin.Tests.Data;

public class CsvTests
{
    private static CsvDataset Read(string text, CsvOptions? options = null) => CsvDataset.Read(new StringReader(text), options, "test.csv");

    [Test]
    public void DetectsHeaderAndSelectsColumnsByNameAndIndex()
    {
        CsvDataset csv = Read("a,b,c,label\n1,2,3,0\n4,5,6,1\n", new CsvOptions { Target = "label", Features = ["c", 0] });
        Assert.That(csv.FeatureNames, Is.EqualTo(new[] { "c", "a" }));
        Assert.That(csv.Dataset.Features.ToArray(), Is.EqualTo(new float[] { 3, 1, 6, 4 }));
        Assert.That(csv.Dataset.Labels.ToArray(), Is.EqualTo(new long[] { 0, 1 }));
    }

    [Test]
    public void WithoutHeaderTheLastColumnIsTheTarget()
    {
        CsvDataset csv = Read("1.5,2,7\r\n\r\n-3e1,4,2\r\n");
        Assert.That(csv.Dataset.Count, Is.EqualTo(2));
        Assert.That(csv.Dataset.Features.ToArray(), Is.EqualTo(new float[] { 1.5f, 2, -30, 4 }));
        Assert.That(csv.Dataset.Labels.ToArray(), Is.EqualTo(new long[] { 7, 2 }));
        Assert.That(csv.FeatureNames, Is.EqualTo(new[] { "#0", "#1" }));
    }

    [Test]
    public void QuotedFieldsHoldDelimitersQuotesAndLineBreaks()
    {
        CsvDataset csv = Read("name,x,y\n\"a, \"\"b\"\"\",1,0.5\n\"multi\nline\",2,1.5\nplain,3,2.5\n",
            new CsvOptions { Target = "y", TargetIsClassLabel = false, Categorical = ["name"], Encoding = CategoricalEncoding.Index });
        Assert.That(csv.Categories["name"], Is.EqualTo(new[] { "a, \"b\"", "multi\nline", "plain" }));
        Assert.That(csv.Dataset.Features.ToArray(), Is.EqualTo(new float[] { 0, 1, 1, 2, 2, 3 }));
        Assert.That(csv.Dataset.TargetValues.ToArray(), Is.EqualTo(new float[] { 0.5f, 1.5f, 2.5f }));
    }

    [Test]
    public void CategoricalColumnsOneHotWithSortedCategoriesAndCategoricalTarget()
    {
        CsvDataset csv = Read("color,size,kind\nred,1,cat\nblue,2,dog\nred,3,dog\n",
            new CsvOptions { Categorical = ["color", "kind"] });
        Assert.That(csv.FeatureNames, Is.EqualTo(new[] { "color=blue", "color=red", "size" }));
        Assert.That(csv.Dataset.Features.ToArray(), Is.EqualTo(new float[] { 0, 1, 1, 1, 0, 2, 0, 1, 3 }));
        Assert.That(csv.Categories["kind"], Is.EqualTo(new[] { "cat", "dog" }));
        Assert.That(csv.Dataset.Labels.ToArray(), Is.EqualTo(new long[] { 0, 1, 1 }));
    }

    [Test]
    public void KnownCategoriesEncodeAnotherFileAlikeAndRejectNewOnes()
    {
        var known = new Dictionary<string, IReadOnlyList<string>> { ["color"] = ["blue", "green", "red"] };
        CsvDataset csv = Read("color,label\nred,0\n", new CsvOptions { Categorical = ["color"], KnownCategories = known });
        Assert.That(csv.Dataset.Features.ToArray(), Is.EqualTo(new float[] { 0, 0, 1 }));
        var error = Assert.Throws<FormatException>(() => Read("color,label\nred,0\npink,1\n",
            new CsvOptions { Categorical = ["color"], KnownCategories = known }));
        Assert.That(error!.Message, Does.Contain("line 3").And.Contain("color").And.Contain("pink"));
    }

    [Test]
    public void BadValuesNameTheLineAndColumn()
    {
        var notNumber = Assert.Throws<FormatException>(() => Read("a,b,label\n1,2,0\n3,x,1\n"));
        Assert.That(notNumber!.Message, Does.Contain("test.csv line 3, column b").And.Contain("'x'"));
        var missing = Assert.Throws<FormatException>(() => Read("a,b,label\n1,,0\n"));
        Assert.That(missing!.Message, Does.Contain("line 2, column b").And.Contain("missing"));
        var ragged = Assert.Throws<FormatException>(() => Read("1,2,0\n1,2\n"));
        Assert.That(ragged!.Message, Does.Contain("line 2").And.Contain("2 fields"));
        var label = Assert.Throws<FormatException>(() => Read("a,label\n1,0.5\n"));
        Assert.That(label!.Message, Does.Contain("line 2, column label").And.Contain("0.5"));
        var unclosed = Assert.Throws<FormatException>(() => Read("a,label\n\"1,0\n"));
        Assert.That(unclosed!.Message, Does.Contain("line 2").And.Contain("quoted"));
        var column = Assert.Throws<ArgumentException>(() => Read("a,label\n1,0\n", new CsvOptions { Target = "nope" }));
        Assert.That(column!.Message, Does.Contain("'nope'").And.Contain("a, label"));
    }

    [Test]
    public void DigitsLoadFromTheEmbeddedResource()
    {
        InMemoryDataset digits = Digits.Load();
        Assert.That(digits.Count, Is.EqualTo(Digits.SampleCount));
        Assert.That(digits.SampleShape, Is.EqualTo(new long[] { 64 }));
        Assert.That(digits.ClassCount, Is.EqualTo(10));
        // The first line of the file: 0,0,5,13,9,1,0,0,... label 0.
        Assert.That(digits.Features[..8].ToArray(), Is.EqualTo(new float[] { 0, 0, 5, 13, 9, 1, 0, 0 }));
        Assert.That(digits.Labels[0], Is.EqualTo(0));
        Assert.That(digits.Features.ToArray().Max(), Is.EqualTo(16));
    }
}
