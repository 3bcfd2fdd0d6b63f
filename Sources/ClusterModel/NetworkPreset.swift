import DionCore

/// A cluster as the α–β model sees it: intra-node and inter-node links, devices per node, and
/// the device's throughput for the optimizer's arithmetic.
///
/// Numbers (per device, one direction), with sources:
/// - `h100-nvlink-ib400`: DGX H100 — NVLink 4 at 900 GB/s bidirectional per GPU (450 GB/s per
///   direction; NVIDIA H100 datasheet), one 400 Gb/s ConnectX-7 InfiniBand NIC per GPU (50 GB/s),
///   TF32 dense 494 TFLOP/s, HBM3 3.35 TB/s (H100 SXM datasheet). Latencies: 5 µs per step on NVLink,
///   10 µs across InfiniBand (typical NCCL small-message figures).
/// - `a100-nvlink-ib200`: DGX A100 — NVLink 3 at 600 GB/s bidirectional (300 GB/s per direction),
///   200 Gb/s HDR InfiniBand per GPU (25 GB/s), TF32 dense 156 TFLOP/s, HBM2e 2.0 TB/s (A100 datasheet).
/// - `ethernet-100g`: 8 GPUs (A100 class) per node on NVLink 3, nodes on 100 Gb/s Ethernet shared by the
///   node's 8 GPUs (12.5 GB/s per node ⇒ 1.56 GB/s per GPU), 30 µs latency.
/// - `local-shm`: this project's 2-core machine, all ranks in one "node" over Open MPI shared memory:
///   ≈ 5 GB/s bus bandwidth and ≈ 2 µs per step measured by `dion bench collectives` with 2 ranks
///   (docs/benchmarks.md), 100 GFLOP/s single-thread sgemm, ≈ 10 GB/s memory bandwidth.
public struct NetworkPreset: Sendable, Hashable, Codable {
    /// The name `named(_:)` and `dion simulate --network` take.
    public let name: String
    /// Devices (ranks) per node: groups up to this size run on the intra-node link.
    public let devicesPerNode: Int
    /// Intra-node bandwidth per device per direction, bytes/s.
    public let intraBandwidth: Double
    /// Intra-node latency per algorithm step, seconds.
    public let intraLatency: Double
    /// Inter-node bandwidth per device per direction, bytes/s.
    public let interBandwidth: Double
    /// Inter-node latency per algorithm step, seconds.
    public let interLatency: Double
    /// Arithmetic throughput for the optimizer's matrix products, FLOP/s.
    public let deviceFlops: Double
    /// Memory bandwidth, bytes/s (elementwise optimizers are bound by it).
    public let memoryBandwidth: Double
    /// One line on where the numbers come from.
    public let source: String

    /// The built-in presets (see the type's discussion for their sources).
    public static let all: [NetworkPreset] = [
        NetworkPreset(name: "h100-nvlink-ib400", devicesPerNode: 8, intraBandwidth: 450e9, intraLatency: 5e-6,
                      interBandwidth: 50e9, interLatency: 10e-6, deviceFlops: 494e12, memoryBandwidth: 3.35e12,
                      source: "DGX H100: NVLink 4 900 GB/s bidir, 400 Gb/s IB per GPU, TF32 494 TFLOP/s, 3.35 TB/s HBM3"),
        NetworkPreset(name: "a100-nvlink-ib200", devicesPerNode: 8, intraBandwidth: 300e9, intraLatency: 5e-6,
                      interBandwidth: 25e9, interLatency: 10e-6, deviceFlops: 156e12, memoryBandwidth: 2.0e12,
                      source: "DGX A100: NVLink 3 600 GB/s bidir, 200 Gb/s IB per GPU, TF32 156 TFLOP/s, 2 TB/s HBM2e"),
        NetworkPreset(name: "ethernet-100g", devicesPerNode: 8, intraBandwidth: 300e9, intraLatency: 5e-6,
                      interBandwidth: 1.5625e9, interLatency: 30e-6, deviceFlops: 156e12, memoryBandwidth: 2.0e12,
                      source: "A100 nodes on one 100 Gb/s Ethernet port per node (12.5 GB/s shared by 8 GPUs)"),
        localShm,
    ]

    /// This machine's shared memory (`local-shm`).
    static let localShm = NetworkPreset(
        name: "local-shm", devicesPerNode: 1024, intraBandwidth: 5e9, intraLatency: 2e-6, interBandwidth: 5e9,
        interLatency: 2e-6, deviceFlops: 100e9, memoryBandwidth: 10e9,
        source: "this 2-core VM: Open MPI vader, ≈5 GB/s busbw and ≈2 µs per step (dion bench collectives)")

    /// The preset called `name`, or the emulated cluster `emulated:RATE[:SLOTS]`.
    public static func named(_ name: String) throws(ClusterModelError) -> NetworkPreset {
        if name.hasPrefix("emulated:") { return try emulated(parsing: name) }
        guard let preset = all.first(where: { $0.name == name }) else {
            throw ClusterModelError("unknown network '\(name)'; use one of \(all.map(\.name).joined(separator: ", ")) or emulated:RATE[:SLOTS]")
        }
        return preset
    }

    /// The link a collective on `axis` (or, for `nil`, the whole mesh) runs on: tp is innermost,
    /// then fsdp, then dp; an axis whose group (with the axes inside it) fits in a node runs at
    /// intra-node speed, otherwise at inter-node speed (the slowest link a ring crosses sets its
    /// pace).
    public func link(_ axis: MeshAxis?, mesh: MeshShape) -> (bandwidth: Double, latency: Double) {
        let span: Int
        switch axis {
        case .tp: span = mesh.tp
        case .fsdp: span = mesh.tp * mesh.fsdp
        case .replicate, nil: span = mesh.processCount
        }
        return span <= devicesPerNode ? (intraBandwidth, intraLatency) : (interBandwidth, interLatency)
    }
}
