using System.Security.Cryptography;

namespace Myelin;

/// <summary>
/// A seedable source of random numbers for tensor factories such as <see cref="Tensor.Rand"/>.
/// </summary>
/// <remarks>
/// <para>Algorithm: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011),
/// a counter-based generator. The 64-bit seed is the key; a 128-bit counter numbers the blocks, and each
/// block yields four 32-bit words. The same seed always gives the same sequence on every platform.</para>
/// <para>Uniform floats take the top 24 bits of one word (<c>u * 2^-24</c>, in [0, 1)); uniform doubles take
/// 53 bits from two words. Normals use the Box-Muller transform on two uniforms, and the second normal of
/// each pair is kept for the next call.</para>
/// <para>The <c>Fill</c> methods take a lock on the instance, so a shared generator such as <see cref="Default"/>
/// can fill from several threads; the single-value <c>Next</c> methods do not.</para>
/// </remarks>
public sealed class Generator
{
    private const uint MultiplierA = 0xD2511F53;
    private const uint MultiplierB = 0xCD9E8D57;
    private const uint WeylA = 0x9E3779B9;
    private const uint WeylB = 0xBB67AE85;

    private readonly uint _key0;
    private readonly uint _key1;
    private ulong _counterLow;
    private ulong _counterHigh;
    private readonly uint[] _block = new uint[4];
    private readonly Lock _sync = new();
    private int _blockIndex = 4;
    private double? _spareNormal;

    /// <summary>Creates a generator whose sequence is fully determined by <paramref name="seed"/>.</summary>
    public Generator(ulong seed)
    {
        Seed = seed;
        _key0 = (uint)seed;
        _key1 = (uint)(seed >> 32);
    }

    /// <summary>The process-wide generator used when a factory is given none; seeded randomly at start-up.</summary>
    public static Generator Default { get; } = new(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(sizeof(ulong))));

    /// <summary>The seed this generator was created with.</summary>
    public ulong Seed { get; }

    /// <summary>The next 32 random bits.</summary>
    public uint NextUInt32()
    {
        if (_blockIndex == 4)
        {
            GenerateBlock();
            _blockIndex = 0;
        }

        return _block[_blockIndex++];
    }

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    public float NextSingle() => (NextUInt32() >> 8) * (1.0f / (1 << 24));

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble()
    {
        ulong high = NextUInt32() >> 5; // 27 bits
        ulong low = NextUInt32() >> 6;  // 26 bits
        return ((high << 26) | low) * (1.0 / (1UL << 53));
    }

    /// <summary>A standard normal sample (mean 0, variance 1) by Box-Muller.</summary>
    public double NextNormal()
    {
        if (_spareNormal is double spare)
        {
            _spareNormal = null;
            return spare;
        }

        // 1 - u lies in (0, 1], so the logarithm is finite.
        double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - NextDouble()));
        double angle = 2.0 * Math.PI * NextDouble();
        _spareNormal = radius * Math.Sin(angle);
        return radius * Math.Cos(angle);
    }

    /// <summary>Fills <paramref name="destination"/> with uniform floats in [0, 1).</summary>
    public void FillUniform(Span<float> destination)
    {
        lock (_sync)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = NextSingle();
            }
        }
    }

    /// <summary>Fills <paramref name="destination"/> with uniform doubles in [0, 1).</summary>
    public void FillUniform(Span<double> destination)
    {
        lock (_sync)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = NextDouble();
            }
        }
    }

    /// <summary>Fills <paramref name="destination"/> with normal samples of the given mean and standard deviation.</summary>
    public void FillNormal(Span<float> destination, double mean = 0, double standardDeviation = 1)
    {
        lock (_sync)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = (float)(mean + standardDeviation * NextNormal());
            }
        }
    }

    /// <summary>Fills <paramref name="destination"/> with normal samples of the given mean and standard deviation.</summary>
    public void FillNormal(Span<double> destination, double mean = 0, double standardDeviation = 1)
    {
        lock (_sync)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = mean + standardDeviation * NextNormal();
            }
        }
    }

    private void GenerateBlock()
    {
        uint c0 = (uint)_counterLow, c1 = (uint)(_counterLow >> 32);
        uint c2 = (uint)_counterHigh, c3 = (uint)(_counterHigh >> 32);
        uint k0 = _key0, k1 = _key1;
        for (int round = 0; round < 10; round++)
        {
            ulong productA = (ulong)MultiplierA * c0;
            ulong productB = (ulong)MultiplierB * c2;
            uint next0 = (uint)(productB >> 32) ^ c1 ^ k0;
            uint next1 = (uint)productB;
            uint next2 = (uint)(productA >> 32) ^ c3 ^ k1;
            uint next3 = (uint)productA;
            (c0, c1, c2, c3) = (next0, next1, next2, next3);
            k0 += WeylA;
            k1 += WeylB;
        }

        _block[0] = c0;
        _block[1] = c1;
        _block[2] = c2;
        _block[3] = c3;
        if (++_counterLow == 0)
        {
            _counterHigh++;
        }
    }
}
