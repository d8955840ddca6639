"""Print a loop-callbacks-PID.json written by bench/loop_timer/sitecustomize.py."""

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--top", type=int, default=25, help="slow callback groups to list, by total time")
    args = parser.parse_args()
    with open(args.file) as fh:
        data = json.load(fh)
    hist = data["histogram_us"]
    total = sum(hist.values())
    print(f"{total} callbacks")
    for label, count in hist.items():
        print(f"  {label:>8} µs  {count:8d}  {100 * count / max(total, 1):6.2f} %")
    print("slow callbacks (≥ 300 µs) by total time: count, total ms, mean µs, max µs, task | resumed at -> suspended at")
    for key, count, total_us, max_us in sorted(data["slow"], key=lambda row: -row[2])[:args.top]:
        print(f"  {count:6d} {total_us / 1000:8.1f} {total_us / count:8.0f} {max_us:8.0f}  {key[:220]}")


if __name__ == "__main__":
    main()
