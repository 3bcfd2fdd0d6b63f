extension NetworkPreset {
    /// The latency of one algorithm step between two emulated hosts: TCP over a veth pair and a
    /// bridge with Open MPI yielding when idle, ≈ 90 µs for a small all-reduce between two
    /// namespaces on this machine (docs/cluster.md measures it per cluster).
    public static let emulatedInterLatency = 90e-6

    /// The emulated cluster of `Scripts/cluster.sh` as the α–β model sees it: `slots` ranks per host
    /// over shared memory (the `local-shm` figures), hosts joined by links of `bitsPerSecond` in
    /// each direction, which the host's ranks share (so each rank's inter-host bandwidth is the
    /// link's divided by `slots`, as for `ethernet-100g`). tc shapes whole Ethernet frames; the
    /// payload of a full 1500-byte frame is 1448 of its 1514 bytes, so the model's bandwidth is
    /// the rate times that fraction.
    public static func emulated(bitsPerSecond: Double, slots: Int) throws(ClusterModelError) -> NetworkPreset {
        guard bitsPerSecond.isFinite, bitsPerSecond >= 1e3, bitsPerSecond <= 1e13 else {
            throw ClusterModelError("the emulated link rate must be 1 kbit/s … 10 Tbit/s, got \(bitsPerSecond) bit/s")
        }
        guard (1...64).contains(slots) else { throw ClusterModelError("slots per emulated host must be 1…64, got \(slots)") }
        let local = localShm
        let payload = 1448.0 / 1514.0
        return NetworkPreset(name: "emulated:\(formatRate(bitsPerSecond)):\(slots)", devicesPerNode: slots,
                             intraBandwidth: local.intraBandwidth, intraLatency: local.intraLatency,
                             interBandwidth: bitsPerSecond / 8 * payload / Double(slots), interLatency: emulatedInterLatency,
                             deviceFlops: local.deviceFlops, memoryBandwidth: local.memoryBandwidth,
                             source: "Scripts/cluster.sh: \(slots) ranks per namespace host, veth links shaped to "
                                 + "\(formatRate(bitsPerSecond)) each way (tc tbf), TCP between hosts")
    }

    /// Parses `emulated:RATE[:SLOTS]` (RATE as tc writes it: `10gbit`, `1gbit`, `100mbit`, `500kbit`;
    /// SLOTS defaults to 2), the preset `Scripts/cluster.sh up --bandwidth RATE --slots SLOTS` builds.
    static func emulated(parsing name: String) throws(ClusterModelError) -> NetworkPreset {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0] == "emulated" else {
            throw ClusterModelError("an emulated network is written emulated:RATE[:SLOTS], e.g. emulated:1gbit:2; got '\(name)'")
        }
        let slots: Int
        if parts.count == 3 {
            guard let s = Int(parts[2]) else { throw ClusterModelError("slots in '\(name)' must be an integer") }
            slots = s
        } else {
            slots = 2
        }
        return try emulated(bitsPerSecond: try parseRate(String(parts[1])), slots: slots)
    }

    /// A rate in tc's notation (`gbit`, `mbit`, `kbit`, `bit` or a bare number) in bit/s.
    static func parseRate(_ text: String) throws(ClusterModelError) -> Double {
        let lower = text.lowercased()
        let units: [(String, Double)] = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1)]
        for (suffix, scale) in units where lower.hasSuffix(suffix) {
            if let value = Double(lower.dropLast(suffix.count)), value.isFinite, value > 0 { return value * scale }
            break
        }
        if let value = Double(lower), value.isFinite, value > 0 { return value }
        throw ClusterModelError("rate '\(text)' not understood: use e.g. 10gbit, 1gbit, 100mbit")
    }

    static func formatRate(_ bitsPerSecond: Double) -> String {
        for (suffix, scale) in [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3)] where bitsPerSecond >= scale {
            let value = bitsPerSecond / scale
            return value == value.rounded() ? "\(Int(value))\(suffix)" : "\(value)\(suffix)"
        }
        return "\(Int(bitsPerSecond))bit"
    }
}
