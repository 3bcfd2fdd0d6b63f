// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "dion-swift",
    products: [
        // MARK: - Public API
        .library(name: "DionCore", targets: ["DionCore"]),
        .library(name: "MPIShim", targets: ["MPIShim"]),
        .library(name: "Sharding", targets: ["Sharding"]),
        .library(name: "TrainingData", targets: ["TrainingData"]),
        .library(name: "Checkpointing", targets: ["Checkpointing"]),
        .library(name: "LinearAlgebra", targets: ["LinearAlgebra"]),
        .library(name: "Optimizers", targets: ["Optimizers"]),
        .library(name: "DionDistributed", targets: ["DionDistributed"]),
        .library(name: "ClusterModel", targets: ["ClusterModel"]),
        .library(name: "Transformer", targets: ["Transformer"]),
        .library(name: "Training", targets: ["Training"]),
        .executable(name: "dion", targets: ["DionCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - C interop (implementation details)
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        .target(
            name: "CMPIShim",
            dependencies: ["CMPI"]
        ),

        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // The keyed normal generator's SIMD kernel (Swift's SIMD8<Float> arithmetic stays scalar).
        .target(
            name: "CNormalLanes"
        ),
        // The finiteness scan (Swift's compiled for baseline x86-64 only).
        .target(
            name: "CFiniteness"
        ),
        // The elementwise optimizers' update loops (Swift left them scalar: four arrays it cannot prove distinct).
        .target(
            name: "COptimizerKernels"
        ),
        .systemLibrary(
            name: "CLAPACKE",
            pkgConfig: "lapacke",
            providers: [.apt(["liblapacke-dev"])]
        ),

        // MARK: - Libraries
        // Pure arithmetic, no MPI or BLAS: mesh shapes, layouts, chunking, ring costs, Dion's work
        // geometry and sizes, and the step plans that the distributed steps, the ledger checks and
        // the cluster model all use.
        .target(
            name: "DionCore",
            dependencies: []
        ),
        .target(
            name: "MPIShim",
            dependencies: ["CMPI", "CMPIShim", "DionCore"]
        ),

        .target(
            name: "LinearAlgebra",
            dependencies: ["CBLAS", "CLAPACKE", "CFiniteness", "CNormalLanes", "DionCore"]
        ),
        .target(
            name: "Optimizers",
            dependencies: ["LinearAlgebra", "COptimizerKernels", "DionCore"]
        ),
        .target(
            name: "Sharding",
            dependencies: ["MPIShim", "LinearAlgebra", "DionCore"]
        ),

        .target(
            name: "DionDistributed",
            dependencies: ["MPIShim", "Sharding", "LinearAlgebra", "Optimizers", "DionCore"]
        ),
        .target(
            name: "ClusterModel",
            dependencies: ["DionCore"]
        ),
        .target(
            name: "Transformer",
            dependencies: ["LinearAlgebra", "DionCore"]
        ),
        .target(
            name: "TrainingData",
            dependencies: []
        ),
        .target(
            name: "Training",
            dependencies: ["MPIShim", "Sharding", "LinearAlgebra", "Optimizers", "DionDistributed", "Transformer",
                           "TrainingData", "ClusterModel", "Checkpointing"]
        ),

        .target(
            name: "Checkpointing",
            dependencies: ["MPIShim", "DionCore"]
        ),

        // MARK: - Executables
        .executableTarget(
            name: "DionCLI",
            dependencies: [
                "DionCore",
                "MPIShim",
                "Checkpointing",
                "LinearAlgebra",
                "Optimizers",
                "Sharding",
                "DionDistributed",
                "ClusterModel",
                "Training",
                "TrainingData",
                "Transformer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "_MPITestRunner",
            dependencies: ["MPIShim", "Sharding", "Checkpointing", "DionDistributed", "Optimizers", "LinearAlgebra"]
        ),

        // MARK: - Test support and unit test bundles
        .target(
            name: "_TestSupport",
            dependencies: ["Checkpointing"]
        ),
        .testTarget(
            name: "MPIShimTests",
            dependencies: ["MPIShim", "_TestSupport", "_MPITestRunner"]
        ),
        .testTarget(
            name: "LinearAlgebraTests",
            dependencies: ["LinearAlgebra"]
        ),
        .testTarget(
            name: "OptimizersTests",
            dependencies: ["Optimizers", "LinearAlgebra"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TransformerTests",
            dependencies: ["Transformer", "LinearAlgebra"]
        ),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Training", "Checkpointing", "ClusterModel", "Sharding", "_TestSupport"]
        ),
        .testTarget(
            name: "TrainingDataTests",
            dependencies: ["TrainingData"]
        ),
        .testTarget(
            name: "CheckpointingTests",
            dependencies: ["Checkpointing", "MPIShim", "_TestSupport", "_MPITestRunner"]
        ),
        .testTarget(
            name: "DionDistributedTests",
            dependencies: ["_TestSupport", "_MPITestRunner"]
        ),
        .testTarget(
            name: "ClusterModelTests",
            dependencies: ["ClusterModel", "DionCore"]
        ),
        .testTarget(
            name: "ClusterTests",
            dependencies: ["_TestSupport", "_MPITestRunner", "DionCLI"]
        ),
        .testTarget(
            name: "ShardingTests",
            dependencies: ["Sharding", "MPIShim", "_TestSupport", "_MPITestRunner"]
        ),
        // End-to-end: run the `dion` executable (mostly under mpirun) and check what it prints and writes.
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["Training", "Checkpointing", "ClusterModel", "Sharding", "_TestSupport", "_MPITestRunner", "DionCLI"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
