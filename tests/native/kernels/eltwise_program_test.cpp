// mln_eltwise_program against its reference twin (one reference unary/binary call per
// instruction; exact under the scalar ISA), against the same program run as separate
// mln_unary/mln_binary calls (exact under every ISA: the fused kernel uses their vector
// kernels), and against plain loops written here; argument validation.
#include <cmath>
#include <memory>
#include <vector>

#include "core/eltwise_program_validation.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/elementwise/unary_ops.hpp"
#include "kernels/cpu/reference/reference_eltwise_program.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::test {
namespace {

class EltwiseProgramTest : public CpuDeviceTest {};

mln_eltwise_instruction unary_instruction(mln_unary_op op, int32_t dst, int32_t src0, double alpha = 0.0,
                                          double beta = 0.0) {
    return {MLN_ELTWISE_KIND_UNARY, op, dst, src0, 0, alpha, beta};
}

mln_eltwise_instruction binary_instruction(mln_binary_op op, int32_t dst, int32_t src0, int32_t src1) {
    return {MLN_ELTWISE_KIND_BINARY, op, dst, src0, src1, 0.0, 0.0};
}

// A random valid program over input_count inputs: sources are defined registers, temporaries
// are reused (so dst may equal a source), parameters nonzero (celu divides by alpha).
std::vector<mln_eltwise_instruction> random_program(int32_t input_count, int32_t length) {
    std::vector<int32_t> defined;
    for (int32_t r = 0; r < input_count; ++r) defined.push_back(r);
    std::vector<mln_eltwise_instruction> program;
    auto pick = [&] { return defined[static_cast<size_t>(uniform_int(0, static_cast<int64_t>(defined.size()) - 1))]; };
    for (int32_t k = 0; k < length; ++k) {
        const auto dst = static_cast<int32_t>(uniform_int(input_count, input_count + 4));
        if (uniform_int(0, 1) == 0) {
            const auto op = static_cast<mln_unary_op>(uniform_int(MLN_UNARY_OP_IDENTITY, kernels::kLastUnaryOp));
            program.push_back(unary_instruction(op, dst, pick(), uniform(0.1, 2.0), uniform(-1.0, 1.0)));
        } else {
            const auto op = static_cast<mln_binary_op>(uniform_int(MLN_BINARY_OP_ADD, MLN_BINARY_OP_POW));
            program.push_back(binary_instruction(op, dst, pick(), pick()));
        }
        defined.push_back(dst);
    }
    return program;
}

// y's shape with random dimensions set to 1 and a random number of leading ones dropped.
std::vector<int64_t> broadcastable_to(const std::vector<int64_t>& shape) {
    std::vector<int64_t> result = shape;
    for (auto& d : result) {
        if (uniform_int(0, 2) == 0) d = 1;
    }
    result.erase(result.begin(), result.begin() + uniform_int(0, static_cast<int64_t>(result.size())));
    return result;
}

// The program as one device call per instruction on contiguous full-size temporaries (inputs
// materialized first), so every call takes the same contiguous path the fused blocks take.
template <class T>
void run_separately(mln_device* device, const EltwiseProgramArgs& args, HostTensor<T>& out) {
    const std::vector<int64_t> shape(args.y.shape, args.y.shape + args.y.rank);
    std::vector<std::unique_ptr<HostTensor<T>>> registers(MLN_ELTWISE_MAX_REGISTERS);
    for (int32_t r = 0; r < args.input_count; ++r) {
        registers[static_cast<size_t>(r)] = std::make_unique<HostTensor<T>>(shape);
        reference::copy(args.inputs[r], registers[static_cast<size_t>(r)]->view());
    }
    for (int32_t k = 0; k < args.instruction_count; ++k) {
        const mln_eltwise_instruction& instruction = args.program[k];
        auto result = std::make_unique<HostTensor<T>>(shape);
        const mln_tensor_desc* src0 = registers[static_cast<size_t>(instruction.src0)]->desc();
        const mln_status status =
            instruction.kind == MLN_ELTWISE_KIND_UNARY
                ? mln_unary(device, static_cast<mln_unary_op>(instruction.op), instruction.alpha, instruction.beta, src0,
                            result->desc())
                : mln_binary(device, static_cast<mln_binary_op>(instruction.op), src0,
                             registers[static_cast<size_t>(instruction.src1)]->desc(), result->desc());
        ASSERT_EQ(status, MLN_STATUS_OK) << mln_last_error();
        registers[static_cast<size_t>(instruction.dst)] = std::move(result);
    }
    reference::copy(registers[static_cast<size_t>(args.program[args.instruction_count - 1].dst)]->view(), out.view());
}

// Runs program on the device under every ISA: exact agreement with the separate calls, and
// under the scalar ISA with the reference twin (both round every step to T through the same
// op structs). NaN equals NaN.
template <class T>
void check_against_reference(mln_device* device, const std::vector<int64_t>& shape,
                             const std::vector<mln_eltwise_instruction>& program, int32_t input_count,
                             bool random_layouts) {
    std::vector<std::unique_ptr<HostTensor<T>>> inputs;
    std::vector<mln_tensor_desc> descs;
    for (int32_t i = 0; i < input_count; ++i) {
        const std::vector<int64_t> input_shape = broadcastable_to(shape);
        inputs.push_back(random_layouts ? std::make_unique<HostTensor<T>>(input_shape, random_strides(input_shape))
                                        : std::make_unique<HostTensor<T>>(input_shape));
        fill_random(*inputs.back());
        descs.push_back(*inputs.back()->desc());
    }
    HostTensor<T> y = random_layouts ? HostTensor<T>(shape, random_strides(shape)) : HostTensor<T>(shape);
    HostTensor<T> want(shape);
    const auto count = static_cast<int32_t>(program.size());
    const EltwiseProgramArgs args =
        validate_eltwise_program(*device, program.data(), count, descs.data(), input_count, want.desc());
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        ASSERT_EQ(mln_eltwise_program(device, program.data(), count, descs.data(), input_count, y.desc()),
                  MLN_STATUS_OK)
            << mln_last_error();
        run_separately(device, args, want);
        // mln_unary/mln_binary compute a lone element with the scalar op (its loop has stride 0),
        // while the fused blocks always take the vector kernels: only the scalar ISA compares.
        if (y.count() == 1 && isa != MLN_ISA_SCALAR) continue;
        ASSERT_TRUE(same_elements(y, want)) << "separate calls, isa " << isa << ", " << count << " instructions, " << y.count() << " elements";
        if (isa == MLN_ISA_SCALAR) {
            reference::eltwise_program(args);
            ASSERT_TRUE(same_elements(y, want)) << "reference, " << count << " instructions on " << input_count
                                                << " inputs";
        }
    }
}

TEST_F(EltwiseProgramTest, RandomProgramsMatchReference) {
    for (int trial = 0; trial < 150; ++trial) {
        const std::vector<int64_t> shape = random_shape(4, 9);
        const auto input_count = static_cast<int32_t>(uniform_int(1, 4));
        const auto program = random_program(input_count, static_cast<int32_t>(uniform_int(1, 12)));
        const bool random_layouts = trial % 2 == 1;
        check_against_reference<float>(device_, shape, program, input_count, random_layouts);
        check_against_reference<double>(device_, shape, program, input_count, random_layouts);
    }
}

TEST_F(EltwiseProgramTest, EdgeSizesAndThreads) {
    for (int64_t n : {0, 1, 2, 255, 256, 257, 1031, 70001}) {
        const auto program = random_program(3, 8);
        check_against_reference<float>(device_, {n}, program, 3, false);
        check_against_reference<double>(device_, {n}, program, 3, true);
        check_against_reference<float>(device_, {3, n}, program, 3, true);
    }
    check_against_reference<float>(device_, {}, random_program(2, 5), 2, false);  // rank 0
    check_against_reference<float>(device_, {97, 0, 5}, random_program(2, 5), 2, true);
    check_against_reference<double>(device_, {301, 257}, random_program(4, 30), 4, true);  // threads
}

// tanh(a * b + c) with a [rows, cols], b a row [cols], c a column [rows, 1], against a plain loop.
template <class T>
void check_tanh_of_multiply_add(mln_device* device, int64_t rows, int64_t cols) {
    const std::vector<int64_t> shape = {rows, cols};
    HostTensor<T> a(shape, random_strides(shape));
    HostTensor<T> b({cols});
    HostTensor<T> c({rows, 1});
    HostTensor<T> y(shape);
    fill_random(a);
    fill_random(b);
    fill_random(c);
    const mln_eltwise_instruction program[] = {
        binary_instruction(MLN_BINARY_OP_MUL, 3, 0, 1),
        binary_instruction(MLN_BINARY_OP_ADD, 3, 3, 2),
        unary_instruction(MLN_UNARY_OP_TANH, 4, 3),
    };
    const mln_tensor_desc inputs[] = {*a.desc(), *b.desc(), *c.desc()};
    ASSERT_EQ(mln_eltwise_program(device, program, 3, inputs, 3, y.desc()), MLN_STATUS_OK) << mln_last_error();
    for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
            const double want = std::tanh(static_cast<double>(a.at(i * cols + j)) * b.at(j) + c.at(i));
            ASSERT_NEAR(y.at(i * cols + j), want, 1e-6) << i << "," << j;  // vector tanh: a few ulp
        }
    }
}

TEST_F(EltwiseProgramTest, TanhOfMultiplyAddBroadcasts) {
    for (int64_t cols : {1, 7, 256, 300}) {
        check_tanh_of_multiply_add<float>(device_, 5, cols);
        check_tanh_of_multiply_add<double>(device_, 3, cols);
    }
    check_tanh_of_multiply_add<float>(device_, 401, 263);  // threads
}

TEST_F(EltwiseProgramTest, OutputMayBeAnInput) {
    HostTensor<float> x({1000});
    fill_random(x);
    std::vector<float> original(x.storage());
    const mln_eltwise_instruction program[] = {
        unary_instruction(MLN_UNARY_OP_SIGMOID, 1, 0),
        binary_instruction(MLN_BINARY_OP_MUL, 1, 1, 0),  // silu written out
    };
    ASSERT_EQ(mln_eltwise_program(device_, program, 2, x.desc(), 1, x.desc()), MLN_STATUS_OK) << mln_last_error();
    for (int64_t i = 0; i < 1000; ++i) {
        const double v = original[static_cast<size_t>(i)];
        ASSERT_NEAR(x.at(i), v / (1.0 + std::exp(-v)), 1e-6 * (1.0 + std::fabs(v))) << i;
    }
}

TEST_F(EltwiseProgramTest, DeviceSupportsFloatsOnly) {
    int32_t supported = -1;
    ASSERT_EQ(mln_device_supports(device_, MLN_KERNEL_ELTWISE_PROGRAM, MLN_DTYPE_F32, &supported), MLN_STATUS_OK);
    EXPECT_EQ(supported, 1);
    ASSERT_EQ(mln_device_supports(device_, MLN_KERNEL_ELTWISE_PROGRAM, MLN_DTYPE_F64, &supported), MLN_STATUS_OK);
    EXPECT_EQ(supported, 1);
    ASSERT_EQ(mln_device_supports(device_, MLN_KERNEL_ELTWISE_PROGRAM, MLN_DTYPE_I32, &supported), MLN_STATUS_OK);
    EXPECT_EQ(supported, 0);
}

TEST_F(EltwiseProgramTest, RejectsInvalidArguments) {
    HostTensor<float> a({4, 3});
    HostTensor<float> b({3});
    HostTensor<float> y({4, 3});
    HostTensor<float> wrong({5, 3});
    HostTensor<double> y64({4, 3});
    HostTensor<int32_t> y32({4, 3});
    const mln_tensor_desc inputs[] = {*a.desc(), *b.desc()};
    const mln_eltwise_instruction good[] = {binary_instruction(MLN_BINARY_OP_ADD, 2, 0, 1)};
    auto run = [&](const std::vector<mln_eltwise_instruction>& program) {
        return mln_eltwise_program(device_, program.data(), static_cast<int32_t>(program.size()), inputs, 2, y.desc());
    };
    const auto invalid = MLN_STATUS_INVALID_ARGUMENT;
    EXPECT_TRUE(failed_with(mln_eltwise_program(device_, nullptr, 1, inputs, 2, y.desc()), invalid,
                            {"mln_eltwise_program", "program is null"}));
    EXPECT_TRUE(failed_with(mln_eltwise_program(device_, good, 0, inputs, 2, y.desc()), invalid,
                            {"instruction_count 0 is out of range (1..64)"}));
    EXPECT_TRUE(failed_with(mln_eltwise_program(device_, good, 65, inputs, 2, y.desc()), invalid,
                            {"instruction_count 65"}));
    EXPECT_TRUE(failed_with(mln_eltwise_program(device_, good, 1, nullptr, 2, y.desc()), invalid, {"inputs is null"}));
    EXPECT_TRUE(failed_with(mln_eltwise_program(device_, good, 1, inputs, 0, y.desc()), invalid,
                            {"input_count 0 is out of range (1..16)"}));
    EXPECT_TRUE(failed_with(mln_eltwise_program(device_, good, 1, inputs, 17, y.desc()), invalid, {"input_count 17"}));
    EXPECT_TRUE(failed_with(mln_eltwise_program(device_, good, 1, inputs, 2, nullptr), invalid, {"y is null"}));
    EXPECT_TRUE(failed_with(mln_eltwise_program(device_, good, 1, inputs, 2, y64.desc()), invalid,
                            {"inputs[0] is f32 but y is f64"}));
    EXPECT_TRUE(failed_with(mln_eltwise_program(device_, good, 1, inputs, 2, y32.desc()), invalid,
                            {"y is i32 but programs run on f32 or f64"}));
    EXPECT_TRUE(failed_with(mln_eltwise_program(device_, good, 1, inputs, 2, wrong.desc()), invalid, {"inputs[0]"}));
    mln_eltwise_instruction first = unary_instruction(MLN_UNARY_OP_EXP, 2, 0);
    EXPECT_TRUE(failed_with(run({first, {7, 0, 3, 2, 0, 0.0, 0.0}}), invalid,
                            {"program[1]: kind 7 is not a valid mln_eltwise_kind"}));
    EXPECT_TRUE(failed_with(run({first, unary_instruction(static_cast<mln_unary_op>(99), 3, 2)}), invalid,
                            {"program[1]: op 99 is not a valid mln_unary_op"}));
    EXPECT_TRUE(failed_with(run({first, binary_instruction(static_cast<mln_binary_op>(-1), 3, 2, 0)}), invalid,
                            {"program[1]: op -1 is not a valid mln_binary_op"}));
    EXPECT_TRUE(failed_with(run({first, binary_instruction(MLN_BINARY_OP_LT, 3, 2, 0)}), invalid,
                            {"program[1]: lt gives bool"}));
    EXPECT_TRUE(failed_with(run({first, binary_instruction(MLN_BINARY_OP_ADD, 3, 2, 5)}), invalid,
                            {"program[1]: src1 5 is read before any input or instruction defines it"}));
    EXPECT_TRUE(failed_with(run({first, unary_instruction(MLN_UNARY_OP_EXP, 3, 80)}), invalid,
                            {"program[1]: src0 80 is out of range (0..79)"}));
    EXPECT_TRUE(failed_with(run({first, unary_instruction(MLN_UNARY_OP_EXP, 1, 2)}), invalid,
                            {"program[1]: dst 1 is out of range", "inputs are read-only"}));
    EXPECT_TRUE(failed_with(run({first, unary_instruction(MLN_UNARY_OP_EXP, 80, 2)}), invalid, {"program[1]: dst 80"}));
    EXPECT_TRUE(failed_with(run({first, unary_instruction(MLN_UNARY_OP_CELU, 3, 2, 0.0)}), invalid,
                            {"program[1]: alpha is 0"}));
    EXPECT_EQ(run({first, binary_instruction(MLN_BINARY_OP_MUL, 3, 2, 1)}), MLN_STATUS_OK) << mln_last_error();
}

}  // namespace
}  // namespace mln::test
