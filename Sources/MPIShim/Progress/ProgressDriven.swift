import Synchronization

/// Work in flight that moves on only when polled: `DirectReduction`, whose next round is posted by
/// whoever finds the current one complete. The progress thread polls every registered item after
/// each probe, unless its owner is polling or waiting on it at that moment.
protocol ProgressDriven: AnyObject, Sendable {
    /// Tests the current round and posts the next if it is complete; returns at once if the owner
    /// holds the item. Never throws: a failure is kept for the owner's next test or wait.
    func advanceIfIdle()
}

extension ProgressThread {
    /// The items the thread polls, by identity.
    static let driven = Mutex<[ObjectIdentifier: any ProgressDriven]>([:])

    /// Polls `item` after every probe until `retire`.
    static func register(_ item: any ProgressDriven) {
        driven.withLock { $0[ObjectIdentifier(item)] = item }
    }

    /// Stops polling `item` (it completed, failed or was dropped).
    static func retire(_ item: any ProgressDriven) {
        _ = driven.withLock { $0.removeValue(forKey: ObjectIdentifier(item)) }
    }

    /// One poll of every registered item (on the progress thread).
    static func advanceDriven() {
        let items = driven.withLock { Array($0.values) }
        for item in items { item.advanceIfIdle() }
    }
}
