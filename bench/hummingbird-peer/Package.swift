// swift-tools-version: 6.1
// The benchmark peer for bench/http.sh: a minimal Hummingbird 2 server answering GET /healthz with
// the same JSON body as `popi serve`. It is never a dependency of popi itself.
import PackageDescription

let package = Package(
    name: "hummingbird-peer",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
    ],
    targets: [
        .executableTarget(name: "HummingbirdPeer", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
