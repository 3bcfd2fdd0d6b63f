import Foundation

/// The emulated cluster of `Scripts/cluster.sh` as tests drive it: network namespaces as hosts,
/// shaped veth links, a hostfile and an Open MPI parameter file. Needs root.
public struct EmulatedCluster: Sendable {
    /// The repository's root (this file is `Sources/_TestSupport/EmulatedCluster.swift`).
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let script = repository.appendingPathComponent("Scripts/cluster.sh").path

    public let hosts: Int
    public let slots: Int

    /// Whether this machine can host the cluster: root, with `ip` and `tc`.
    public static var isAvailable: Bool {
        getuid() == 0 && ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// An error from `Scripts/cluster.sh`, with what it printed.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Brings up `hosts` hosts of `slots` slots with links of `bandwidth` (tc notation) each way.
    public static func up(hosts: Int, slots: Int, bandwidth: String) throws -> EmulatedCluster {
        _ = try run([script, "up", "--hosts", "\(hosts)", "--slots", "\(slots)", "--bandwidth", bandwidth])
        return EmulatedCluster(hosts: hosts, slots: slots)
    }

    /// Removes every namespace, link and process of the cluster.
    @discardableResult
    public static func down() throws -> String { try run([script, "down"]) }

    /// What of a cluster is still on this machine: namespaces, links, the bridge.
    public static func leftovers() throws -> [String] {
        let namespaces = try run(["ip", "netns", "list"]).split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        let links = try run(["ip", "-o", "link", "show"]).split(separator: "\n")
            .compactMap { $0.split(separator: ":").dropFirst().first?.trimmingCharacters(in: .whitespaces) }
            .map { String($0.split(separator: "@")[0]) }
        return (namespaces + links).filter { $0.hasPrefix("dion-h") || $0.hasPrefix("dion-v") || $0 == "dion-br0" }
    }

    /// The command that runs `mpirun` on the cluster's first host, across all hosts.
    public func launcher() throws -> String {
        try Self.run([Self.script, "launcher"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Bytes each host has sent and received over its link, from the kernel's interface counters.
    public func counters() throws -> [String: (sent: Int, received: Int)] {
        var result: [String: (sent: Int, received: Int)] = [:]
        for line in try Self.run([Self.script, "counters"]).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let sent = Int(fields[1]), let received = Int(fields[2]) else { continue }
            result[String(fields[0])] = (sent, received)
        }
        return result
    }

    /// Takes `host`'s link down or up.
    public func setLink(_ host: String, up: Bool) throws { _ = try Self.run([Self.script, "link", host, up ? "up" : "down"]) }

    /// SIGKILLs every process on `host` until none is left; returns what was killed ("pid:command …").
    @discardableResult
    public func killHost(_ host: String) throws -> String { try Self.run([Self.script, "kill-host", host]) }

    /// Runs a command to completion and returns its standard output; throws on a non-zero exit
    /// or when it runs past `timeout` seconds (then its whole session is killed).
    ///
    /// Through `MPIJob.runCommand` (output to files, completion from a status file, a timeout),
    /// not a `Pipe` read to end of file with no bound: Foundation's pipes are not close-on-exec,
    /// and the MPI singleton that other suites start in this process forks Open MPI's `orted`,
    /// which keeps every descriptor it inherited until the process ends. A pipe's write end that
    /// `orted` inherits never reaches end of file (shown in isolation: a read waited until its
    /// 10 s bound). Here the window is short (the parent's write end lives only during the spawn),
    /// but a read must not be able to hang a test run at all.
    @discardableResult
    static func run(_ command: [String], timeout: Double = 180) throws -> String {
        let result = try MPIJob.runCommand(command, timeout: timeout)
        guard result.status == 0, !result.timedOut else {
            throw Failure(description: "\(command.joined(separator: " ")) "
                              + (result.timedOut ? "ran past \(Int(timeout)) s and was killed: " : "exited \(result.status): ")
                              + result.standardOutput + result.standardError)
        }
        return result.standardOutput
    }
}
