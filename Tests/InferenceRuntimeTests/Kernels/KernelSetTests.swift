import Testing
@testable import InferenceRuntime

extension KernelSet {
    /// The C kernel sets this CPU runs, each held to the portable one bit for bit.
    static let simdSets = allCases.filter { $0 != .portable && isSupported($0) }
}

@Suite struct KernelSetTests {
    @Test func detectedSetIsSupportedAndTheSetsNest() {
        #expect(KernelSet.isSupported(KernelSet.detected))
        #expect(KernelSet.isSupported(.portable))
        // Every CPU with the AVX-512 set has the AVX2 one (its features include AVX2, FMA, F16C).
        #expect(!KernelSet.isSupported(.avx512) || KernelSet.isSupported(.avx2))
    }
}
