// Package deploytest checks the files under deploy/ (systemd units, the
// Dockerfile and compose demo, Kubernetes manifests, Prometheus alerts and
// the Grafana dashboard) with the real tools where this machine has them:
// systemd-analyze, dockerfilelint, slapd, the Go toolchain; and that the
// shipped binaries link no test code. It holds tests only.
package deploytest
