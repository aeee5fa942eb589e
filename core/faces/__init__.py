"""Face boxes: the `faceboxes.csv` side file, the bundled detector, and its benchmark on the demo."""
