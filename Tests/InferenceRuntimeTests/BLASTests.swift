import Testing
import InferenceRuntime

@Suite struct BLASTests {
    @Test func sgemmMatchesNaiveLoop() {
        let m = 5, n = 7, k = 11
        let a = (0..<(m * k)).map { Float(($0 * 7) % 13) - 6 }
        let b = (0..<(n * k)).map { Float(($0 * 5) % 11) - 5 }
        var c = [Float](repeating: 0, count: m * n)
        BLAS.matmulTransposedB(a, b, &c, m: m, n: n, k: k)
        for i in 0..<m {
            for j in 0..<n {
                var expected: Float = 0
                for p in 0..<k { expected += a[i * k + p] * b[j * k + p] }
                #expect(c[i * n + j] == expected)
            }
        }
    }
}
