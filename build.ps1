#!/usr/bin/env pwsh
#Requires -Version 7.0
<#
.SYNOPSIS
    Builds, tests, packs and benchmarks Myelin on Windows, macOS and Linux.

.DESCRIPTION
    A thin layer over cmake and dotnet: every step prints the command it runs, and each can be
    typed by hand instead. `dotnet build` alone also builds the native library (through
    native/native.targets), so this script is a convenience, not a requirement.

.EXAMPLE
    ./build.ps1                       # configure and build everything, Release
    ./build.ps1 -Test                 # ... then run CTest and the NUnit tests
    ./build.ps1 -Configuration Debug -Sanitize -Test
    ./build.ps1 -Bench -BenchArgs 'gemm','--shapes','512x512x512,1024x1024x1024'
    ./build.ps1 -Pack                 # NuGet packages under artifacts/packages
#>
[CmdletBinding()]
param(
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',
    # Run the native (CTest) and managed (NUnit) tests after building.
    [switch] $Test,
    # Produce NuGet packages in artifacts/packages.
    [switch] $Pack,
    # Run `myelin bench` with -BenchArgs (default: the gemm benchmark).
    [switch] $Bench,
    [string[]] $BenchArgs = @('gemm'),
    # Build the CUDA backend (MYELIN_CUDA=ON).
    [switch] $Cuda,
    # Build the native code with AddressSanitizer and UBSan (Debug only).
    [switch] $Sanitize,
    # Compile jobs; defaults to the number of logical processors.
    [int] $Jobs = [Environment]::ProcessorCount
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
$nativeDir = Join-Path $root "artifacts/native/$Configuration"

function Invoke-Step([string] $Command, [string[]] $Arguments) {
    Write-Host "> $Command $($Arguments -join ' ')" -ForegroundColor Cyan
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$Command' failed with exit code $LASTEXITCODE." }
}

foreach ($tool in 'cmake', 'dotnet') {
    if (-not (Get-Command $tool -ErrorAction SilentlyContinue)) {
        throw "$tool was not found on PATH; install it first (see README.md, 'Building')."
    }
}

$configure = @('-S', $root, '-B', $nativeDir, "-DCMAKE_BUILD_TYPE=$Configuration")
if ($Cuda) { $configure += '-DMYELIN_CUDA=ON' }
if ($Sanitize) { $configure += '-DMYELIN_SANITIZE=ON' }
Invoke-Step cmake $configure
Invoke-Step cmake @('--build', $nativeDir, '--config', $Configuration, '--parallel', "$Jobs")

# The native library is built above; MSBuild's own CMake step then finds it up to date.
$managedArgs = @('-c', $Configuration, "-p:MyelinNativeBuildDir=$nativeDir/")
Invoke-Step dotnet (@('build', (Join-Path $root 'Runtime.sln')) + $managedArgs)

if ($Test) {
    Invoke-Step ctest @('--test-dir', $nativeDir, '-C', $Configuration, '--output-on-failure')
    Invoke-Step dotnet (@('test', (Join-Path $root 'Runtime.sln'), '--no-build') + $managedArgs)
}

if ($Pack) {
    $packages = Join-Path $root 'artifacts/packages'
    Invoke-Step dotnet (@('pack', (Join-Path $root 'Runtime.sln'), '--no-build', '-o', $packages) + $managedArgs)
}

if ($Bench) {
    $cli = Join-Path $root 'managed/Myelin.Cli'
    Invoke-Step dotnet (@('run', '--project', $cli, '--no-build') + $managedArgs + @('--') + $BenchArgs)
}
