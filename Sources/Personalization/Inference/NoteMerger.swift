import Foundation

/// Merges the notes written about a user's example pairs into one summary (`SummaryForm.notes`).
///
/// A note said about two or more pairs is kept and a note said once is dropped as a likely
/// misreading of its pair; when no note repeats, every note is kept, since nothing then tells a
/// misreading from a preference shown once. Kept notes come most-said first (ties: first said
/// first), each once.
public enum NoteMerger {
    public static func merge(_ notes: [String], maxLines: Int) -> String {
        var order: [String] = []
        var counts: [String: Int] = [:]
        var texts: [String: String] = [:]
        for note in notes {
            guard let line = firstLine(note) else { continue }
            let key = key(line)
            guard !key.isEmpty else { continue }
            if counts[key] == nil {
                order.append(key)
                texts[key] = line
            }
            counts[key, default: 0] += 1
        }
        let repeated = order.filter { counts[$0]! >= 2 }
        let kept = (repeated.isEmpty ? order : repeated).enumerated().sorted { a, b in
            let (countA, countB) = (counts[a.element]!, counts[b.element]!)
            return countA != countB ? countA > countB : a.offset < b.offset
        }.map(\.element)
        return kept.prefix(maxLines).map { texts[$0]! }.joined(separator: "\n")
    }

    /// The note's first non-empty line: a note is one sentence, and what a small model adds
    /// after it is not part of it.
    static func firstLine(_ note: String) -> String? {
        note.split(separator: "\n").lazy
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { !$0.isEmpty }
            .map { $0.hasPrefix("- ") ? String($0.dropFirst(2)) : $0 }
    }

    /// Notes that differ only in case, punctuation or spacing are the same note.
    static func key(_ line: String) -> String {
        let words = line.lowercased().unicodeScalars
            .map { CharacterSet.alphanumerics.contains($0) ? Character($0) : " " }
        return String(words).split(separator: " ").joined(separator: " ")
    }
}
