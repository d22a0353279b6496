package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/internal/config"
)

// kustomization is what deploy/kubernetes/kustomization.yaml says.
type kustomization struct {
	Resources          []string    `yaml:"resources"`
	ConfigMapGenerator []generator `yaml:"configMapGenerator"`
	SecretGenerator    []generator `yaml:"secretGenerator"`
	GeneratorOptions   struct {
		DisableNameSuffixHash bool `yaml:"disableNameSuffixHash"`
	} `yaml:"generatorOptions"`
	Images []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
		Digest  string `yaml:"digest"`
	} `yaml:"images"`
}

type generator struct {
	Name     string   `yaml:"name"`
	Files    []string `yaml:"files"`
	Literals []string `yaml:"literals"`
	Options  struct {
		DisableNameSuffixHash bool `yaml:"disableNameSuffixHash"`
	} `yaml:"options"`
}

func readKustomization(t *testing.T) kustomization {
	t.Helper()
	var k kustomization
	if err := yaml.Unmarshal(readFile(t, deployPath(t, "kubernetes", "kustomization.yaml")), &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	return k
}

// key is the data key a generator gives a file: its base name, or the
// part before "=" in "key=path".
func (g generator) keys() map[string]string {
	out := map[string]string{}
	for _, f := range g.Files {
		key, path, ok := strings.Cut(f, "=")
		if !ok {
			key, path = filepath.Base(f), f
		}
		out[key] = path
	}
	return out
}

// manifests reads every document of every YAML manifest in
// deploy/kubernetes, keyed by "Kind/name", and adds the ConfigMaps and
// Secrets the kustomization generates: the ConfigMaps with their files'
// content, the Secrets with a made-up value per key (their files are the
// user's and not in the repository).
func manifests(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob(deployPath(t, "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	k := readKustomization(t)
	inputs := map[string]bool{"kustomization.yaml": true}
	for _, g := range k.ConfigMapGenerator {
		for _, path := range g.keys() {
			inputs[path] = true
		}
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		if inputs[filepath.Base(f)] {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(readFile(t, f)))
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if doc == nil {
				continue
			}
			kind, _ := doc["kind"].(string)
			name, _ := dig(doc, "metadata", "name").(string)
			if kind == "" || name == "" {
				t.Fatalf("%s: a document without kind or metadata.name", f)
			}
			out[kind+"/"+name] = doc
		}
	}
	for _, g := range k.ConfigMapGenerator {
		data := map[string]any{}
		for key, path := range g.keys() {
			data[key] = string(readFile(t, deployPath(t, "kubernetes", path)))
		}
		out["ConfigMap/"+g.Name] = map[string]any{"kind": "ConfigMap", "data": data}
	}
	for _, g := range k.SecretGenerator {
		data := map[string]any{}
		for key := range g.keys() {
			data[key] = "made-up-" + key
		}
		out["Secret/"+g.Name] = map[string]any{"kind": "Secret", "stringData": data}
	}
	return out
}

// dig walks maps by key and lists by int index.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func mustGet(t *testing.T, all map[string]map[string]any, key string) map[string]any {
	t.Helper()
	m, ok := all[key]
	if !ok {
		t.Fatalf("no %s in deploy/kubernetes", key)
	}
	return m
}

func TestKubernetesDeployment(t *testing.T) {
	all := manifests(t)
	d := mustGet(t, all, "Deployment/syncd")
	if r := dig(d, "spec", "replicas"); r != 1 {
		t.Errorf("replicas %v, want 1 (two daemons would sync twice)", r)
	}
	if s := dig(d, "spec", "strategy", "type"); s != "Recreate" {
		t.Errorf("strategy %v, want Recreate", s)
	}
	pod := dig(d, "spec", "template", "spec")
	checkPodSecurity(t, "Deployment", pod)
	c := dig(pod, "containers", 0)
	if args := strings.Join(toStrings(dig(c, "args")), " "); !strings.HasPrefix(args, "run") {
		t.Errorf("container args %q, want syncd run", args)
	}
	if p := dig(c, "livenessProbe", "httpGet", "path"); p != "/healthz" {
		t.Errorf("liveness probe path %v, want /healthz", p)
	}
	if p := dig(c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		t.Errorf("readiness probe path %v, want /readyz", p)
	}
	if port := dig(c, "ports", 0, "containerPort"); port != 9184 {
		t.Errorf("containerPort %v, want 9184", port)
	}
	checkVolumes(t, all, "Deployment", pod)
	checkMemoryLimit(t, "Deployment", c)
}

func TestKubernetesCronJob(t *testing.T) {
	all := manifests(t)
	cj := mustGet(t, all, "CronJob/syncd-sync")
	if p := dig(cj, "spec", "concurrencyPolicy"); p != "Forbid" {
		t.Errorf("concurrencyPolicy %v, want Forbid (never two syncs at once)", p)
	}
	pod := dig(cj, "spec", "jobTemplate", "spec", "template", "spec")
	checkPodSecurity(t, "CronJob", pod)
	args := toStrings(dig(pod, "containers", 0, "args"))
	if len(args) < 2 || args[0] != "sync" || slices.Contains(args, "--apply") {
		t.Errorf("CronJob args %v, want sync without --apply (the config's sync.apply decides)", args)
	}
	checkVolumes(t, all, "CronJob", pod)
	checkMemoryLimit(t, "CronJob", dig(pod, "containers", 0))
}

// checkMemoryLimit: the container has a memory limit, and GOMEMLIMIT keeps
// the Go runtime below it with room for what the runtime does not count.
// Without GOMEMLIMIT the runtime knows nothing of the limit: the heap grows
// until the kernel kills the pod.
func checkMemoryLimit(t *testing.T, what string, container any) {
	t.Helper()
	limitText, _ := dig(container, "resources", "limits", "memory").(string)
	limit, err := kubeQuantity(limitText)
	if err != nil {
		t.Fatalf("%s: resources.limits.memory %q: %v", what, limitText, err)
	}
	var goLimitText string
	envs, _ := dig(container, "env").([]any)
	for _, e := range envs {
		if dig(e, "name") == "GOMEMLIMIT" {
			goLimitText, _ = dig(e, "value").(string)
		}
	}
	goLimit, err := goMemLimit(goLimitText)
	if err != nil {
		t.Fatalf("%s: GOMEMLIMIT %q: %v (set it, as a value, to about 80%% of limits.memory)", what, goLimitText, err)
	}
	if ratio := float64(goLimit) / float64(limit); ratio < 0.6 || ratio > 0.9 {
		t.Errorf("%s: GOMEMLIMIT %s is %.0f%% of limits.memory %s, want 60%% to 90%%", what, goLimitText, 100*ratio, limitText)
	}
	if got := runtimeMemLimit(t, goLimitText); got != goLimit {
		t.Errorf("%s: the Go runtime reads GOMEMLIMIT=%s as %d bytes, this test as %d", what, goLimitText, got, goLimit)
	}
}

// runtimeMemLimit starts this test binary with GOMEMLIMIT=value and returns
// the limit its runtime took (an invalid value stops a Go program at start).
func runtimeMemLimit(t *testing.T, value string) int64 {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestPrintMemoryLimit$")
	cmd.Env = append(os.Environ(), "GOMEMLIMIT="+value, "SYNCD_PRINT_MEMORY_LIMIT=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("GOMEMLIMIT=%s: %v\n%s", value, err, out)
	}
	_, after, ok := strings.Cut(string(out), "memory limit: ")
	n, err := strconv.ParseInt(strings.Fields(after + " ")[0], 10, 64)
	if !ok || err != nil {
		t.Fatalf("GOMEMLIMIT=%s: no limit in %q", value, out)
	}
	return n
}

// TestPrintMemoryLimit is runtimeMemLimit's child: it prints the runtime's
// memory limit when asked to, and does nothing otherwise.
func TestPrintMemoryLimit(t *testing.T) {
	if os.Getenv("SYNCD_PRINT_MEMORY_LIMIT") == "" {
		t.Skip("run by runtimeMemLimit")
	}
	fmt.Printf("memory limit: %d\n", debug.SetMemoryLimit(-1))
}

// kubeQuantity parses the memory quantities the manifests use (binary and
// decimal suffixes, or plain bytes).
func kubeQuantity(s string) (int64, error) {
	return scaled(s, map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 1e3, "M": 1e6, "G": 1e9, "": 1})
}

// goMemLimit parses GOMEMLIMIT as the runtime does (runtime/debug:
// bytes with an optional B, KiB, MiB, GiB or TiB suffix).
func goMemLimit(s string) (int64, error) {
	return scaled(s, map[string]int64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "": 1})
}

func scaled(s string, units map[string]int64) (int64, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	unit, ok := units[s[i:]]
	if err != nil || !ok || n <= 0 {
		return 0, fmt.Errorf("not a size this test knows")
	}
	return n * unit, nil
}

func TestMemoryQuantities(t *testing.T) {
	for _, c := range []struct {
		s     string
		parse func(string) (int64, error)
		want  int64
	}{
		{"256Mi", kubeQuantity, 256 << 20}, {"1G", kubeQuantity, 1e9}, {"200MiB", goMemLimit, 200 << 20},
		{"1073741824", goMemLimit, 1 << 30}, {"200Mi", goMemLimit, 0}, {"", goMemLimit, 0}, {"1.5Gi", kubeQuantity, 0},
	} {
		if got, _ := c.parse(c.s); got != c.want {
			t.Errorf("%q = %d, want %d", c.s, got, c.want)
		}
	}
}

func checkPodSecurity(t *testing.T, what string, pod any) {
	t.Helper()
	if dig(pod, "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: runAsNonRoot is not true", what)
	}
	if uid, _ := dig(pod, "securityContext", "runAsUser").(int); uid == 0 {
		t.Errorf("%s: runAsUser %v, want non-zero", what, uid)
	}
	if dig(pod, "automountServiceAccountToken") != false {
		t.Errorf("%s: the API token is mounted (syncd needs no Kubernetes API)", what)
	}
	sc := dig(pod, "containers", 0, "securityContext")
	if dig(sc, "allowPrivilegeEscalation") != false || dig(sc, "readOnlyRootFilesystem") != true {
		t.Errorf("%s: container securityContext %v", what, sc)
	}
	if !slices.Contains(toStrings(dig(sc, "capabilities", "drop")), "ALL") {
		t.Errorf("%s: capabilities are not all dropped", what)
	}
}

// checkVolumes checks that volumes name existing objects, the secrets are
// not world-readable, and the mounts match what the config expects.
func checkVolumes(t *testing.T, all map[string]map[string]any, what string, pod any) {
	t.Helper()
	vols, _ := dig(pod, "volumes").([]any)
	mounts := map[string]string{}
	for _, m := range dig(pod, "containers", 0, "volumeMounts").([]any) {
		mounts[dig(m, "name").(string)] = dig(m, "mountPath").(string)
	}
	for _, v := range vols {
		name := dig(v, "name").(string)
		switch {
		case dig(v, "configMap") != nil:
			mustGet(t, all, "ConfigMap/"+dig(v, "configMap", "name").(string))
		case dig(v, "secret") != nil:
			mustGet(t, all, "Secret/"+dig(v, "secret", "secretName").(string))
			checkSecretReadable(t, what, pod, v)
		case dig(v, "persistentVolumeClaim") != nil:
			mustGet(t, all, "PersistentVolumeClaim/"+dig(v, "persistentVolumeClaim", "claimName").(string))
		}
		if _, ok := mounts[name]; !ok {
			t.Errorf("%s: volume %s is not mounted", what, name)
		}
	}
	if mounts["config"] != "/etc/syncd" || mounts["state"] != "/var/lib/syncd" {
		t.Errorf("%s: mounts %v", what, mounts)
	}
}

// kubeletSecretMode is the mode and group the kubelet gives the files of a
// secret volume: defaultMode (0644 when unset) and, when the pod has an
// fsGroup, that group with group read added (the kubelet's volume
// ownership rule for read-only volumes). The owner is root.
func kubeletSecretMode(pod, vol any) (mode, gid int) {
	mode = 0o644
	if m, ok := dig(vol, "secret", "defaultMode").(int); ok {
		mode = m
	}
	if fs, ok := dig(pod, "securityContext", "fsGroup").(int); ok {
		return mode | 0o440, fs
	}
	return mode, 0
}

// checkSecretReadable: the container's user can read the secret files,
// and they are not world-readable (syncd refuses such secret files), so
// the pod actually starts.
func checkSecretReadable(t *testing.T, what string, pod, vol any) {
	t.Helper()
	if dig(vol, "secret", "items") != nil {
		t.Errorf("%s: secret items with their own modes are not checked here", what)
	}
	if m, _ := dig(vol, "secret", "defaultMode").(int); m != 0o440 {
		t.Errorf("%s: secret defaultMode %04o, want 0440 (group-readable through fsGroup, nothing for others)", what, m)
	}
	mode, gid := kubeletSecretMode(pod, vol)
	if mode&0o004 != 0 {
		t.Errorf("%s: secret files get mode %04o: world-readable, syncd refuses them", what, mode)
	}
	groups := []int{}
	for _, sc := range []any{dig(pod, "securityContext"), dig(pod, "containers", 0, "securityContext")} {
		for _, k := range []string{"runAsGroup", "fsGroup"} {
			if g, ok := dig(sc, k).(int); ok {
				groups = append(groups, g)
			}
		}
	}
	if mode&0o040 == 0 || gid == 0 || !slices.Contains(groups, gid) {
		t.Errorf("%s: secret files get mode %04o, owner root, group %d: the container (groups %v) cannot read them", what, mode, gid, groups)
	}
}

func TestKubeletSecretModeRule(t *testing.T) {
	pod := map[string]any{"securityContext": map[string]any{"runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532}}
	for _, c := range []struct {
		vol  map[string]any
		pod  any
		mode int
	}{
		{map[string]any{"secret": map[string]any{"defaultMode": 0o400}}, pod, 0o440},
		{map[string]any{"secret": map[string]any{}}, pod, 0o644},
		{map[string]any{"secret": map[string]any{"defaultMode": 0o400}}, map[string]any{}, 0o400},
	} {
		if mode, _ := kubeletSecretMode(c.pod, c.vol); mode != c.mode {
			t.Errorf("kubeletSecretMode(%v, %v) = %04o, want %04o", c.pod, c.vol, mode, c.mode)
		}
	}
}

func TestKubernetesServiceAndMonitor(t *testing.T) {
	all := manifests(t)
	svc := mustGet(t, all, "Service/syncd")
	sm := mustGet(t, all, "ServiceMonitor/syncd")
	d := mustGet(t, all, "Deployment/syncd")
	podLabels := dig(d, "spec", "template", "metadata", "labels").(map[string]any)
	for k, v := range dig(svc, "spec", "selector").(map[string]any) {
		if podLabels[k] != v {
			t.Errorf("Service selector %s=%v does not match the pod", k, v)
		}
	}
	svcLabels := dig(svc, "metadata", "labels").(map[string]any)
	for k, v := range dig(sm, "spec", "selector", "matchLabels").(map[string]any) {
		if svcLabels[k] != v {
			t.Errorf("ServiceMonitor selector %s=%v does not match the Service", k, v)
		}
	}
	if dig(sm, "spec", "endpoints", 0, "port") != dig(svc, "spec", "ports", 0, "name") ||
		dig(sm, "spec", "endpoints", 0, "path") != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %v does not scrape the Service's port at /metrics", dig(sm, "spec", "endpoints", 0))
	}
}

// The ConfigMap's config must load, with the secrets where the Secret
// volume puts them, and listen on the port the probes use.
func TestKubernetesConfigLoads(t *testing.T) {
	all := manifests(t)
	text := dig(mustGet(t, all, "ConfigMap/syncd-config"), "data", "config.yaml").(string)
	secret := mustGet(t, all, "Secret/syncd-secrets")
	files := map[string]string{}
	for k, v := range dig(secret, "stringData").(map[string]any) {
		files[k] = v.(string)
	}
	dir := writeSecrets(t, files)
	// The files as the kubelet lays them out for the Deployment's pod.
	pod := dig(mustGet(t, all, "Deployment/syncd"), "spec", "template", "spec")
	for _, v := range dig(pod, "volumes").([]any) {
		if dig(v, "secret") == nil {
			continue
		}
		mode, _ := kubeletSecretMode(pod, v)
		for name := range files {
			if err := os.Chmod(filepath.Join(dir, name), os.FileMode(mode)); err != nil {
				t.Fatal(err)
			}
		}
	}
	text = strings.ReplaceAll(text, "/run/secrets/syncd", dir)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, envFunc(nil))
	if err != nil {
		t.Fatalf("ConfigMap config.yaml: %v", err)
	}
	if cfg.Server.Listen != "0.0.0.0:9184" || cfg.Sync.StateDir != "/var/lib/syncd" {
		t.Errorf("listen %q state_dir %q", cfg.Server.Listen, cfg.Sync.StateDir)
	}
	checkEndpointsProtected(t, "Kubernetes ConfigMap", cfg)
	if cfg.Server.SyncTokenFile == "" || cfg.Server.SyncToken.Reveal() != files["sync-token"] {
		t.Error("server.sync_token_file does not read the Secret's sync-token")
	}
	if cfg.Sync.Apply {
		t.Error("the ConfigMap's config has sync.apply: true: a first deployment must be a dry run")
	}
}

func TestKustomizationListsFiles(t *testing.T) {
	k := readKustomization(t)
	for _, r := range k.Resources {
		if _, err := os.Stat(deployPath(t, "kubernetes", r)); err != nil {
			t.Errorf("kustomization resource %s: %v", r, err)
		}
	}
	for _, g := range k.ConfigMapGenerator {
		for _, path := range g.keys() {
			if _, err := os.Stat(deployPath(t, "kubernetes", path)); err != nil {
				t.Errorf("configMapGenerator %s: %v", g.Name, err)
			}
		}
	}
}

// `kubectl apply -k` never writes a placeholder over a real Secret: the
// kustomization holds no Secret manifest, and its Secret is generated from
// files that the user creates and git ignores.
func TestKustomizationKeepsSecretsOut(t *testing.T) {
	k := readKustomization(t)
	for _, r := range k.Resources {
		for _, doc := range yamlDocs(t, deployPath(t, "kubernetes", r)) {
			if doc["kind"] == "Secret" {
				t.Errorf("kustomization resource %s is a Secret: kubectl apply -k would overwrite the real one", r)
			}
		}
	}
	ignored := gitignored(t, deployPath(t, "kubernetes", ".gitignore"))
	gens := map[string]generator{}
	for _, g := range k.SecretGenerator {
		gens[g.Name] = g
		if len(g.Literals) > 0 {
			t.Errorf("secretGenerator %s has literals: secrets belong in files the user creates", g.Name)
		}
		for _, path := range g.keys() {
			if !ignored(path) {
				t.Errorf("secretGenerator %s reads %s, which deploy/kubernetes/.gitignore does not ignore", g.Name, path)
			}
			if _, err := os.Stat(deployPath(t, "kubernetes", path)); err == nil && tracked(t, deployPath(t, "kubernetes", path)) {
				t.Errorf("secret file %s is in git", path)
			}
		}
	}
	g, ok := gens["syncd-secrets"]
	if !ok {
		t.Fatal("no secretGenerator syncd-secrets")
	}
	// Every secret the config reads is a key of the generated Secret.
	config := string(readFile(t, deployPath(t, "kubernetes", "config.yaml")))
	for _, m := range regexp.MustCompile(`/run/secrets/syncd/([a-z-]+)`).FindAllStringSubmatch(config, -1) {
		if _, ok := g.keys()[m[1]]; !ok {
			t.Errorf("config.yaml reads /run/secrets/syncd/%s, which syncd-secrets does not hold", m[1])
		}
	}
}

// A configuration change rolls the pod: the ConfigMap and the Secret are
// generated with a content hash in their name, which the workloads follow.
func TestKustomizationRollsOnConfigChange(t *testing.T) {
	k := readKustomization(t)
	if k.GeneratorOptions.DisableNameSuffixHash {
		t.Error("generatorOptions.disableNameSuffixHash: a changed ConfigMap would keep its name and not roll the pod")
	}
	found := false
	for _, g := range append(k.ConfigMapGenerator, k.SecretGenerator...) {
		if g.Options.DisableNameSuffixHash {
			t.Errorf("generator %s disables the name hash", g.Name)
		}
		found = found || g.Name == "syncd-config"
	}
	if !found {
		t.Error("no configMapGenerator syncd-config: a ConfigMap manifest does not roll the pod when it changes")
	}
	for _, r := range k.Resources {
		for _, doc := range yamlDocs(t, deployPath(t, "kubernetes", r)) {
			if doc["kind"] == "ConfigMap" {
				t.Errorf("kustomization resource %s is a ConfigMap: its changes would not roll the pod", r)
			}
		}
	}
}

var semver = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// The image is named with a release's version (ghcr.io/syncd/syncd:X.Y.Z,
// as scripts/release.sh tags it), never latest; once a version is released
// the kustomization names the newest.
func TestKustomizationPinsTheImage(t *testing.T) {
	const image = "ghcr.io/syncd/syncd"
	k := readKustomization(t)
	tag := ""
	for _, im := range k.Images {
		if im.Name == image {
			tag = im.NewTag
			if im.NewName != "" || im.Digest != "" {
				t.Errorf("images: %s is renamed or pinned by digest; the release names %s:X.Y.Z", image, image)
			}
		}
	}
	if !semver.MatchString(tag) {
		t.Fatalf("images: %s newTag %q, want a release version X.Y.Z", image, tag)
	}
	all := manifests(t)
	for _, key := range []string{"Deployment/syncd", "CronJob/syncd-sync"} {
		pod := dig(all[key], "spec", "template", "spec")
		if key == "CronJob/syncd-sync" {
			pod = dig(all[key], "spec", "jobTemplate", "spec", "template", "spec")
		}
		if got := dig(pod, "containers", 0, "image"); got != image+":"+tag {
			t.Errorf("%s image %v, want %s:%s as the kustomization names it", key, got, image, tag)
		}
	}
	changelog := string(readFile(t, filepath.Join(repoRoot(t), "CHANGELOG.md")))
	if m := regexp.MustCompile(`(?m)^## \[([0-9]+\.[0-9]+\.[0-9]+)\]`).FindStringSubmatch(changelog); m != nil && m[1] != tag {
		t.Errorf("images: newTag %s, but the newest release in CHANGELOG.md is %s (docs/releasing.md, step 4)", tag, m[1])
	}
}

// yamlDocs reads the documents of a YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, path)))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			out = append(out, doc)
		}
	}
}

// gitignored reads a .gitignore of directory patterns ("/secrets/",
// "secrets/") and tells whether a path under its directory is ignored.
func gitignored(t *testing.T, path string) func(string) bool {
	t.Helper()
	var dirs []string
	for _, line := range strings.Split(string(readFile(t, path)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		dirs = append(dirs, strings.Trim(line, "/"))
	}
	return func(p string) bool {
		for _, d := range dirs {
			if strings.HasPrefix(filepath.ToSlash(filepath.Clean(p))+"/", d+"/") {
				return true
			}
		}
		return false
	}
}

// tracked tells whether git tracks path (false outside a git checkout).
func tracked(t *testing.T, path string) bool {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "--error-unmatch", path)
	cmd.Dir = filepath.Dir(path)
	return cmd.Run() == nil
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
