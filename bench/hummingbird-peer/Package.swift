// swift-tools-version: 6.1
// The benchmark peer for bench/http.sh: a minimal Hummingbird 2 server answering GET /healthz with
// the same JSON body as `popi serve`, and GET /v1/models behind a bearer key with request-id, metrics
// and access-log middleware. It is never a dependency of popi itself.
import PackageDescription

let package = Package(
    name: "hummingbird-peer",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        // Already one of Hummingbird's: named here for `HTTPField.Name`.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .executableTarget(name: "HummingbirdPeer", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
