// swift-tools-version: 6.1
import PackageDescription

// A module's imports are internal unless marked `public import`: what it depends on does not
// leak into its API.
let strict: [SwiftSetting] = [.enableUpcomingFeature("InternalImportsByDefault")]

let package = Package(
    name: "popi",
    products: [
        .executable(name: "popi", targets: ["popi"]),
        // For the parser fuzzer in fuzz/, which depends on this package by path.
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // C libraries, each wrapped by exactly one Swift module.
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        // epoll and eventfd headers (part of libc), for the HTTP server's poller.
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),

        // The one wrapper of OpenSSL: hashing, secure random bytes and TLS sessions.
        .target(name: "Crypto", dependencies: ["COpenSSL"], swiftSettings: strict),

        // Leaf libraries: they never import each other.
        // SIMD kernels (int8 dot products, half floats) chosen at start-up; optimized in every
        // configuration so debug tests run the real model at a usable speed.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        .target(name: "InferenceRuntime", dependencies: ["COpenBLAS", "CKernels"],
                swiftSettings: strict + [
                    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
                    .unsafeFlags(["-O"], .when(configuration: .debug)),
                ]),
        .target(name: "HTTPServer", dependencies: [
            "CEpoll", "Crypto", .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "Store", dependencies: ["CLibPQ"], swiftSettings: strict),
        .target(name: "LLMClient", swiftSettings: strict),

        // POPI logic, independent of HTTP and SQL.
        .target(name: "Personalization", dependencies: ["InferenceRuntime"], swiftSettings: strict),

        // Composition root.
        .target(name: "App", dependencies: [
            "Personalization", "InferenceRuntime", "HTTPServer", "Store", "LLMClient", "Crypto",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        // Only `main`: the command line lives in App (its CLI folder).
        .executableTarget(name: "popi", dependencies: ["App"], swiftSettings: strict),

        // Optimized even in debug: the gradient check's double-precision reference model runs
        // hundreds of forward passes.
        .testTarget(name: "InferenceRuntimeTests", dependencies: ["InferenceRuntime", "CKernels"], exclude: ["Fixtures"],
                    swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"]),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "Crypto"]),
        .testTarget(name: "StoreTests", dependencies: ["Store"]),
        .testTarget(name: "LLMClientTests", dependencies: ["LLMClient", "HTTPServer"]),
        .testTarget(name: "PersonalizationTests", dependencies: ["Personalization"], exclude: ["Fixtures"]),
        .testTarget(name: "AppTests", dependencies: ["App"]),
    ],
    swiftLanguageModes: [.v6]
)
