import Foundation

/// Runs a program under a real `mpirun` for the multi-rank tests and collects what it did.
///
/// The test host process may itself have initialized MPI as a singleton, which puts
/// `OMPI_*`/`PMIX_*` variables into its environment; a child `mpirun` that inherits them exits
/// silently. The child therefore gets a scrubbed environment plus the settings that let
/// `mpirun` run as root and oversubscribe 2 cores.
public struct MPIJob: Sendable {
    /// How many checks `_MPITestRunner collectives` runs in all ranks together, by rank count (the
    /// shared-memory, guarded and cross-host tests assert the same numbers; 3 ranks: groups of a size
    /// no power of two, where ring blocks and reduction trees are uneven).
    public static let collectiveChecks: [Int: Int] = [1: 221, 2: 488, 3: 792, 4: 1136]

    /// The outcome of one `mpirun`.
    public struct Result: Sendable, CustomStringConvertible {
        /// Exit status of `mpirun` (or the signal that ended it).
        public let status: Int32
        /// Whether the job had to be killed because it ran past the timeout.
        public let timedOut: Bool
        /// Wall time in seconds.
        public let seconds: Double
        public let standardOutput: String
        public let standardError: String

        public var description: String {
            "status \(status)\(timedOut ? " (timed out)" : ""), \(String(format: "%.1f", seconds)) s\n"
                + "--- stdout\n\(standardOutput)\n--- stderr\n\(standardError)"
        }
    }

    /// The executable to launch on every rank.
    public let executable: String
    /// Its arguments.
    public let arguments: [String]
    /// Number of processes.
    public let ranks: Int
    /// Seconds after which the job is killed.
    public let timeout: Double
    /// Extra environment variables for the ranks.
    public let environment: [String: String]
    /// The launcher: `mpirun`, or a command that runs it elsewhere (the emulated cluster's).
    public let launcher: String

    public init(executable: String, arguments: [String], ranks: Int, timeout: Double = 120,
                environment: [String: String] = [:], launcher: String = "mpirun") {
        self.executable = executable
        self.arguments = arguments
        self.ranks = ranks
        self.timeout = timeout
        self.environment = environment
        self.launcher = launcher
    }

    /// The environment for a child `mpirun`: no inherited MPI variables, root and
    /// oversubscription allowed, vader without single-copy (robust in containers).
    public static func launcherEnvironment(extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") && !$0.key.hasPrefix("OPAL_")
        }
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        env["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        env["OMPI_MCA_mpi_yield_when_idle"] = "1"
        env["OPENBLAS_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] ?? "1"
        for (key, value) in extra { env[key] = value }
        return env
    }

    /// Launches the job and waits for it (or kills it at the timeout). `monitor`, if given, is
    /// called with the standard output so far while the job runs (to act on a running job).
    ///
    /// Completion is detected by polling a status file that a wrapper shell writes, not by
    /// waiting for the child: once the test host has initialized MPI as a singleton, Open MPI's
    /// SIGCHLD handling can swallow the child's exit so that neither Foundation's termination
    /// handler nor `waitpid` ever reports it.
    public func run(monitor: ((_ standardOutputSoFar: String) -> Void)? = nil) throws -> Result {
        try Self.execute([launcher, "-np", "\(ranks)", executable] + arguments, environment: environment, timeout: timeout,
                         monitor: monitor)
    }

    /// Runs a command without `mpirun` (e.g. `dion simulate`), with the same environment and timeout
    /// handling as a job.
    public static func runCommand(_ command: [String], timeout: Double = 120) throws -> Result {
        try execute(command, environment: [:], timeout: timeout, monitor: nil)
    }

    /// Runs `command` in a session of its own, waits for it (or kills the whole session at the
    /// timeout) and returns what it printed.
    static func execute(_ command: [String], environment: [String: String], timeout: Double,
                        monitor: ((_ standardOutputSoFar: String) -> Void)?) throws -> Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mpijob-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outPath = directory.appendingPathComponent("stdout").path
        let errPath = directory.appendingPathComponent("stderr").path
        let statusPath = directory.appendingPathComponent("status").path
        let sessionPath = directory.appendingPathComponent("session").path

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        // `setsid` forks when its caller is already a group leader, so the session's id is the
        // shell's pid, not the child's: the shell writes it down for the timeout path.
        let script = "echo $$ >'\(sessionPath)'; exec 0</dev/null 1>/dev/null 2>/dev/null; \"$@\" >'\(outPath)' 2>'\(errPath)' </dev/null; echo $? >'\(statusPath).tmp'; "
            + "mv '\(statusPath).tmp' '\(statusPath)'"
        process.arguments = ["/bin/sh", "-c", script, "sh"] + command
        process.environment = launcherEnvironment(extra: environment)
        let start = Date()
        try process.run()
        let pid = process.processIdentifier
        var timedOut = false
        var status: Int32?
        while status == nil {
            if let text = try? String(contentsOfFile: statusPath, encoding: .utf8) {
                status = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            } else if Date().timeIntervalSince(start) > timeout {
                timedOut = true
                let session = (try? String(contentsOfFile: sessionPath, encoding: .utf8))
                    .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? pid
                kill(-session, SIGTERM)
                Thread.sleep(forTimeInterval: 3)
                kill(-session, SIGKILL)
                // mpirun starts the ranks in process groups of their own, but they stay in the
                // session `setsid` created: kill everything left in it.
                killSession(session)
                status = -1
            } else {
                if let monitor { monitor((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "") }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        var reaped: Int32 = 0
        _ = waitpid(pid, &reaped, WNOHANG)
        return Result(status: status ?? -1, timedOut: timedOut, seconds: Date().timeIntervalSince(start),
                      standardOutput: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                      standardError: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// The pid in rank `rank`'s "PID rank R pid" line (`--debug-print-pids`, the test runner's
    /// fault scenarios), wherever mpirun placed it in `output`: it forwards each rank's output as
    /// it reads it, so part of another rank's line can precede it on the same line.
    public static func pid(ofRank rank: Int, in output: String) -> Int32? {
        guard let found = output.range(of: "PID rank \(rank) ") else { return nil }
        let digits = output[found.upperBound...].prefix { $0.isNumber }
        return digits.isEmpty ? nil : Int32(digits)
    }

    /// Sends SIGKILL to every process whose session id is `session` (from /proc/PID/stat).
    static func killSession(_ session: Int32) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for entry in entries {
            // Fields after "(comm)": state ppid pgrp session …
            guard let pid = Int32(entry), let fields = statFields(pid), fields.count > 3, Int32(fields[3]) == session else {
                continue
            }
            kill(pid, SIGKILL)
        }
    }

    /// The fields of /proc/`pid`/stat after "(comm)" — state, ppid, pgrp, session, … — or `nil`
    /// when the process does not exist.
    public static func statFields(_ pid: Int32) -> [Substring]? {
        // procfs files report size 0, so read them to EOF rather than by their size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/stat") else { return nil }
        let stat = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        try? handle.close()
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// The path of an executable built into the same directory as the running test bundle.
    public static func builtProduct(_ name: String) -> String? {
        var candidates: [URL] = []
        if let dir = ProcessInfo.processInfo.environment["DION_BUILD_DIR"] {
            candidates.append(URL(fileURLWithPath: dir))
        }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(url)
            url = url.deletingLastPathComponent()
        }
        for dir in candidates {
            let path = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

extension MPIJob.Result {
    /// The check count each rank of a `ranks`-rank job printed on its `PASS rank r/n checks=N`
    /// line, in rank order (`nil` for a rank that printed none).
    public func checkCounts(ranks: Int) -> [Int?] {
        let lines = standardOutput.split(separator: "\n")
        return (0..<ranks).map { rank in
            lines.first { $0.hasPrefix("PASS rank \(rank)/\(ranks) checks=") }
                .flatMap { Int($0.split(separator: "=").last ?? "") }
        }
    }

    /// Whether every rank passed and the ranks ran `expected` checks in total (what the runner
    /// does for that mesh: a runner that silently skipped checks fails this).
    public func ranChecks(ranks: Int, total expected: Int) -> Bool {
        let counts = checkCounts(ranks: ranks)
        return !counts.contains(nil) && counts.compactMap { $0 }.reduce(0, +) == expected
    }
}
