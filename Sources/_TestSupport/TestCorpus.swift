import Foundation

/// Deterministic small training texts for tests (the jobs never fall back to synthetic data).
public enum TestCorpus {
    /// A ~24 KB text of words drawn by a fixed LCG from `seed`, written once per process and seed.
    public static func url(seed: UInt64 = 42, name: String = "dion-train-test") -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid())-\(seed).txt")
        if FileManager.default.fileExists(atPath: url.path) { return url }
        var text = ""
        let words = ["the", "king", "shall", "speak", "of", "love", "and", "war", "to", "thee", "my", "lord", "what",
                     "light", "through", "yonder", "window", "breaks", "is", "east"]
        var state = seed
        while text.utf8.count < 24_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            text += words[Int(state >> 59) % words.count] + ((state >> 20) % 9 == 0 ? ".\n" : " ")
        }
        try? text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}
