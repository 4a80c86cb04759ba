// swift-tools-version: 6.1
// libFuzzer target for popi's HTTP request parser. Built only by fuzz/run.sh:
//   swift build -c release --package-path fuzz --sanitize fuzzer --sanitize address
import PackageDescription

let package = Package(
    name: "popi-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "popi", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "HTTPParserFuzzer",
            dependencies: [.product(name: "HTTPServer", package: "popi")],
            // libFuzzer supplies main(); the target only defines LLVMFuzzerTestOneInput.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
