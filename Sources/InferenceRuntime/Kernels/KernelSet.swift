import CKernels
import Foundation

/// Which implementation of the hot loops runs: chosen once at start-up from the CPU's features.
/// All sets compute the same bits. `POPI_KERNELS=portable` forces the Swift reference kernels and
/// `POPI_KERNELS=avx2` the AVX2 ones where supported (for testing and comparison).
public enum KernelSet: String, Sendable, CaseIterable {
    /// AVX-512 F/BW/VL with VNNI int8 dot products and F16C (CKernels).
    case avx512
    /// AVX2 with FMA and F16C, as on x86-64-v3 (CKernels).
    case avx2
    /// Swift reference kernels, any CPU.
    case portable

    /// The best set this CPU supports, unless overridden by POPI_KERNELS.
    public static let detected: KernelSet = {
        switch ProcessInfo.processInfo.environment["POPI_KERNELS"] {
        case "portable": return .portable
        case "avx2" where isSupported(.avx2): return .avx2
        default: return [.avx512, .avx2].first(where: isSupported) ?? .portable
        }
    }()

    public static func isSupported(_ set: KernelSet) -> Bool {
        switch set {
        case .avx512: return ck_cpu_features() & CK_AVX512 != 0
        case .avx2: return ck_cpu_features() & CK_AVX2 != 0
        case .portable: return true
        }
    }
}
