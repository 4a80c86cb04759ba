/// The input of one matrix product: activation rows as f32, plus their int8 quantization when
/// the weight kernel reads that.
struct MatMulInput {
    let floats: UnsafePointer<Float>
    /// Floats from one row to the next.
    let floatStride: Int
    let quantized: QuantizedActivations?
    let rows: Int
}
