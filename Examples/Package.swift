// swift-tools-version: 6.0
// The examples of dion-swift as an outside user sees it: this package depends on dion-swift by
// relative path and imports only its public products. One package with three executables, so the
// dependency is built once for all of them (see README.md).
import PackageDescription

let package = Package(
    name: "dion-swift-examples",
    dependencies: [
        // In your own package: .package(url: "https://github.com/<owner>/dion-swift", branch: "main")
        .package(name: "dion-swift", path: ".."),
    ],
    targets: [
        // MARK: - The README's MPIShim snippet: collectives, the ledger summary, a Chrome trace
        .executableTarget(
            name: "collectives",
            dependencies: [
                .product(name: "MPIShim", package: "dion-swift"),
            ]
        ),
        // MARK: - Your model, your loop, the distributed optimizers: a two-layer MLP on a dp × fsdp mesh
        .executableTarget(
            name: "mlp-dion",
            dependencies: [
                .product(name: "MPIShim", package: "dion-swift"),
                .product(name: "Sharding", package: "dion-swift"),
                .product(name: "LinearAlgebra", package: "dion-swift"),
                .product(name: "Optimizers", package: "dion-swift"),
                .product(name: "DionDistributed", package: "dion-swift"),
            ]
        ),
        // MARK: - The cluster model as a library (pure Swift: no MPI, no BLAS)
        .executableTarget(
            name: "simulate-my-model",
            dependencies: [
                .product(name: "ClusterModel", package: "dion-swift"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
