// oneDNN set-up shared by the programs that run it beside nerve: bench_train.cc,
// bench_infer.cc and bench_api.cc (compiled with it when CMake finds oneDNN,
// NERVE_BENCH_HAVE_ONEDNN) and peers/onednn_train.cc (built by peers/run.sh only
// when the header exists). Include it only there: oneDNN is optional, and a build
// without it never sees this file.
//
// What was repeated in each: the CPU engine and its stream; an inner product
// forward with ReLU fused as a post-op; plain weights reordered once, outside any
// timed loop, into the layout a primitive asked for (format_tag::any).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace bench_dnnl {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// The CPU engine and one stream on it.
struct Cpu {
    dnnl::engine eng{dnnl::engine::kind::cpu, 0};
    dnnl::stream strm{eng};
};

// rows x cols in the given layout (nc: activations, oi: plain weights, any).
inline memory::desc mat(memory::dim rows, memory::dim cols, tag t, dt type = dt::f32) {
    return memory::desc({rows, cols}, type, t);
}
// A bias vector of n floats.
inline memory::desc vec(memory::dim n) { return memory::desc({n}, dt::f32, tag::x); }

// Attributes with ReLU fused as an eltwise post-op (relu), or none.
inline dnnl::primitive_attr relu_attr(bool relu) {
    dnnl::primitive_attr attr;
    if (relu) {
        dnnl::post_ops po;
        po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        attr.set_post_ops(po);
    }
    return attr;
}

// Inner product forward src [N x I] -> dst [N x O] with weights w (oi, or any to
// let oneDNN choose) and bias b, ReLU fused when relu.
inline dnnl::inner_product_forward::primitive_desc ip_forward(const dnnl::engine &eng,
                                                              dnnl::prop_kind prop,
                                                              const memory::desc &src,
                                                              const memory::desc &w,
                                                              const memory::desc &b,
                                                              const memory::desc &dst, bool relu) {
    return dnnl::inner_product_forward::primitive_desc(
        dnnl::inner_product_forward::desc(prop, src, w, b, dst), relu_attr(relu), eng);
}

// `plain` in the layout `want`: plain itself when the layouts agree, else a new
// memory filled from it by one reorder, waited for (set-up, not timed).
inline memory in_layout(Cpu &c, memory plain, const memory::desc &want) {
    if (want == plain.get_desc()) return plain;
    memory m(want, c.eng);
    dnnl::reorder(plain, m).execute(c.strm, plain, m);
    c.strm.wait();
    return m;
}

}  // namespace bench_dnnl
