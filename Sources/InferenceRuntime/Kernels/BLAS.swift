import COpenBLAS

/// Dense single-precision matrix products through OpenBLAS.
public enum BLAS {
    /// C = A · Bᵀ with A m×k, B n×k and C m×n, all row-major: a batch of m input rows through a
    /// weight matrix stored as one row per output, the layout of GGUF weights.
    public static func matmulTransposedB(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(k), 0, c, Int32(n))
    }
}
