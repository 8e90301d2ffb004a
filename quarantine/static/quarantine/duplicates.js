// A full duplicate run's progress bar on the queue (progress.js); when the run is done the
// queue reloads to show the pairs it found.
followProgress("duplicate-run", "run-bar", "run-text");
