import COpenBLAS

/// Dense single-precision matrix products through OpenBLAS (row-major throughout).
public enum BLAS {
    /// C = A · Bᵀ with A m×k, B n×k and C m×n, all row-major: a batch of m input rows through a
    /// weight matrix stored as one row per output, the layout of GGUF weights.
    public static func matmulTransposedB(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int
    ) {
        gemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, transposeB: true, c: c, ldc: n)
    }

    /// C = alpha · op(A) · op(B) + beta · C, with op(A) m×k and op(B) k×n; `transposeA` means A is
    /// stored k×m, `transposeB` that B is stored n×k. Empty products leave C as beta · C.
    static func gemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                     b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            for i in 0..<m {
                for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
            }
            return
        }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Runs each product on the calling thread: the worker pool splits the work, so OpenBLAS's own
    /// threads would only compete with it for the same cores.
    static func useCallingThreadOnly() {
        openblas_set_num_threads(1)
    }
}
