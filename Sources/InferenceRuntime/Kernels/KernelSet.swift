import CKernels
import Foundation

/// Which implementation of the hot loops runs: chosen once at start-up from the CPU's features.
/// `POPI_KERNELS=portable` forces the Swift reference kernels (for testing and comparison).
public enum KernelSet: String, Sendable, CaseIterable {
    /// AVX-512 F/BW/VL with VNNI int8 dot products and F16C (CKernels).
    case avx512
    /// Swift reference kernels, any CPU.
    case portable

    /// The best set this CPU supports, unless overridden by POPI_KERNELS.
    public static let detected: KernelSet = {
        if ProcessInfo.processInfo.environment["POPI_KERNELS"] == "portable" { return .portable }
        return isSupported(.avx512) ? .avx512 : .portable
    }()

    public static func isSupported(_ set: KernelSet) -> Bool {
        switch set {
        case .avx512: return ck_cpu_features() & CK_AVX512 != 0
        case .portable: return true
        }
    }
}
