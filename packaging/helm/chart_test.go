// Package helm_test checks the chart in voicetrends-exporter/: helm lint and
// helm template with each values file in ci/, every rendered object decoded
// strictly into its Kubernetes or Prometheus Operator Go type, the
// PrometheusRule equal to prometheus/rules.yml, the dashboards equal to
// dashboards/*.json, and the rendered configuration accepted by the
// exporter's own parser.
//
// It lives in its own Go module (packaging/go.mod) so that k8s.io/api and the
// Prometheus Operator's types never reach the exporter's go.mod.
package helm_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/voicetrends/voicetrends_exporter/config"
)

// helmModule is the helm the checks run: built from the Go module proxy, so
// that CI needs no other installer. The one place its version is set.
const helmModule = "helm.sh/helm/v3/cmd/helm@v3.22.0"

const (
	chartDir = "voicetrends-exporter"
	release  = "vt"
	fullname = "vt-voicetrends-exporter"
)

var helmBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "helm-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		// go install into a private GOBIN; the build cache makes reruns quick.
		cmd := exec.Command("go", "install", helmModule)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go install %s: %v\n%s", helmModule, err, out)
			return 1
		}
		helmBin = filepath.Join(dir, "helm")
		return m.Run()
	}()
	os.Exit(code)
}

// helm runs helm and returns its stdout, failing the test with stderr.
func helm(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := helmResult(args...)
	if err != nil {
		t.Fatalf("helm %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func helmResult(args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helmBin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v\n%s%s", err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

// rendered is what helm template made, each object decoded into its type.
type rendered struct {
	deployments     []appsv1.Deployment
	services        []corev1.Service
	configMaps      map[string]corev1.ConfigMap
	secrets         []corev1.Secret
	serviceMonitors []monitoringv1.ServiceMonitor
	prometheusRules []monitoringv1.PrometheusRule
}

// decode splits helm's output into objects and decodes each strictly: an
// unknown or misspelt field, a wrong type or a kind this chart does not make
// fails.
func decode(t *testing.T, manifests []byte) rendered {
	t.Helper()
	r := rendered{configMaps: map[string]corev1.ConfigMap{}}
	for i, doc := range bytes.Split(manifests, []byte("\n---\n")) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, doc)
		}
		if meta.Kind == "" {
			continue // only comments
		}
		strict := func(into any) {
			if err := yaml.UnmarshalStrict(doc, into); err != nil {
				t.Fatalf("document %d, %s %s: %v\n%s", i, meta.APIVersion, meta.Kind, err, doc)
			}
		}
		switch meta.APIVersion + " " + meta.Kind {
		case "apps/v1 Deployment":
			var o appsv1.Deployment
			strict(&o)
			r.deployments = append(r.deployments, o)
		case "v1 Service":
			var o corev1.Service
			strict(&o)
			r.services = append(r.services, o)
		case "v1 ConfigMap":
			var o corev1.ConfigMap
			strict(&o)
			r.configMaps[o.Name] = o
		case "v1 Secret":
			var o corev1.Secret
			strict(&o)
			r.secrets = append(r.secrets, o)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			var o monitoringv1.ServiceMonitor
			strict(&o)
			r.serviceMonitors = append(r.serviceMonitors, o)
		case "monitoring.coreos.com/v1 PrometheusRule":
			var o monitoringv1.PrometheusRule
			strict(&o)
			r.prometheusRules = append(r.prometheusRules, o)
		default:
			t.Fatalf("document %d: unexpected %s %s", i, meta.APIVersion, meta.Kind)
		}
	}
	return r
}

func render(t *testing.T, valuesFile string) rendered {
	t.Helper()
	args := []string{"--namespace", "monitoring", "-f", filepath.Join(chartDir, "ci", valuesFile)}
	lint := helm(t, append([]string{"lint", "--strict", chartDir}, args...)...)
	t.Logf("helm lint: %s", bytes.TrimSpace(lint))
	return decode(t, helm(t, append([]string{"template", release, chartDir}, args...)...))
}

func TestChart(t *testing.T) {
	tests := []struct {
		values string
		check  func(t *testing.T, r rendered)
	}{{
		values: "demo-values.yaml",
		check: func(t *testing.T, r rendered) {
			c := exporterContainer(t, r)
			if !slices.Contains(c.Args, "--demo") {
				t.Errorf("demo: args %q lack --demo", c.Args)
			}
			if len(r.secrets) != 0 || len(c.VolumeMounts) != 0 {
				t.Errorf("demo: %d secrets, %d mounts; want none", len(r.secrets), len(c.VolumeMounts))
			}
			checkServiceMonitor(t, r, fullname)
			checkPrometheusRule(t, r)
			checkDashboards(t, r)
		},
	}, {
		values: "account-values.yaml",
		check: func(t *testing.T, r rendered) {
			c := exporterContainer(t, r)
			if c.Image != "registry.example.com/voicetrends_exporter:1.2.3" {
				t.Errorf("image = %q", c.Image)
			}
			if !slices.Contains(c.Args, "--log.level=debug") {
				t.Errorf("args %q lack extraArgs", c.Args)
			}
			if len(r.secrets) != 1 || r.secrets[0].Name != fullname {
				t.Fatalf("secrets = %v, want one named %s", r.secrets, fullname)
			}
			passwords := map[string]string{}
			for k, v := range r.secrets[0].Data {
				passwords[k] = string(v)
			}
			if want := map[string]string{"support": "s3cr3t-support", "sales": "s3cr3t-sales"}; !reflect.DeepEqual(passwords, want) {
				t.Errorf("secret data = %v, want %v", passwords, want)
			}
			checkConfig(t, r, c, passwords, map[string]string{"support": "s3cr3t-support", "sales": "s3cr3t-sales"})
			checkServiceMonitor(t, r, "voicetrends-prod")
			if len(r.prometheusRules) != 0 {
				t.Errorf("a PrometheusRule although prometheusRule.enabled is false")
			}
			for name := range r.configMaps {
				if name != fullname {
					t.Errorf("ConfigMap %s although dashboards.enabled is false", name)
				}
			}
		},
	}, {
		// The overrides that rules_thresholds_test.yml proves, given as
		// values: the chart renders the very group of that test's file.
		values: "thresholds-values.yaml",
		check: func(t *testing.T, r rendered) {
			checkPrometheusRule(t, r, "../../prometheus/testdata/threshold_overrides.yml")
		},
	}, {
		values: "existing-secret-values.yaml",
		check: func(t *testing.T, r rendered) {
			c := exporterContainer(t, r)
			if len(r.secrets) != 0 {
				t.Errorf("the chart made a Secret although existingSecret is set")
			}
			if got := secretVolume(t, r); got != "voicetrends-passwords" {
				t.Errorf("secret volume = %q, want the existing secret", got)
			}
			checkConfig(t, r, c, map[string]string{"support": "pw"}, map[string]string{"support": "pw"})
			if len(r.serviceMonitors)+len(r.prometheusRules) != 0 {
				t.Errorf("Prometheus Operator objects although none is enabled")
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.values, func(t *testing.T) {
			r := render(t, tt.values)
			if len(r.deployments) != 1 || len(r.services) != 1 {
				t.Fatalf("%d deployments, %d services; want one each", len(r.deployments), len(r.services))
			}
			checkDeployment(t, r)
			tt.check(t, r)
		})
	}
}

// TestChartRefusesIncompleteValues: without an account, with an account
// but no password, or with a threshold override it cannot render, helm
// fails with a message saying what to set.
func TestChartRefusesIncompleteValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  []string
		want string
	}{
		{"defaults", nil, "set config.accounts"},
		{"no password", []string{"config.accounts[0].name=a", "config.accounts[0].tool=dev", "config.accounts[0].login=l"}, "set existingSecret or passwords"},
		{"one password missing", []string{"config.accounts[0].name=a", "config.accounts[0].tool=dev", "config.accounts[0].login=l", "passwords.b=x"}, "passwords.a: missing"},
		{"password in config", []string{"config.accounts[0].name=a", "config.accounts[0].password=x", "passwords.a=x"}, "leave password and password_file out"},
		{"unknown threshold", []string{"demo=true", "prometheusRule.enabled=true", "prometheusRule.thresholds[0].threshold=transfer_share", "prometheusRule.thresholds[0].account=a", "prometheusRule.thresholds[0].value=0.3"},
			`prometheusRule.thresholds[0].threshold: "transfer_share" is not one of the rules' thresholds: use one of calls_below_surprise_nats, calls_below_ratio, transfer_cusum_nats,`},
		{"threshold without account", []string{"demo=true", "prometheusRule.enabled=true", "prometheusRule.thresholds[0].threshold=stale_intervals", "prometheusRule.thresholds[0].value=6"},
			"prometheusRule.thresholds[0].account: missing: an override is for an account or one of its numbers"},
		{"threshold value not a number", []string{"demo=true", "prometheusRule.enabled=true", "prometheusRule.thresholds[0].threshold=stale_intervals", "prometheusRule.thresholds[0].account=a", "prometheusRule.thresholds[0].value=six"},
			"prometheusRule.thresholds[0].value: six is not a number"},
		{"threshold key misspelt", []string{"demo=true", "prometheusRule.enabled=true", "prometheusRule.thresholds[0].threshold=stale_intervals", "prometheusRule.thresholds[0].acount=a", "prometheusRule.thresholds[0].value=6"},
			"prometheusRule.thresholds[0].acount: unknown key: use threshold, account, phone and value"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"template", release, chartDir}
			for _, s := range tt.set {
				args = append(args, "--set", s)
			}
			_, err := helmResult(args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("helm template: %v; want an error saying %q", err, tt.want)
			}
		})
	}
}

func exporterContainer(t *testing.T, r rendered) corev1.Container {
	t.Helper()
	cs := r.deployments[0].Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	return cs[0]
}

func secretVolume(t *testing.T, r rendered) string {
	t.Helper()
	for _, v := range r.deployments[0].Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	t.Fatal("no secret volume")
	return ""
}

// checkDeployment: non-root as the image's user, nothing writable or
// escalatable, probes on the exporter's health and readiness endpoints, and a
// Service that reaches the container's port.
func checkDeployment(t *testing.T, r rendered) {
	t.Helper()
	d := r.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1: two pollers spend the budget twice", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 10141 {
		t.Errorf("pod securityContext = %+v, want runAsNonRoot and runAsUser 10141", psc)
	}
	c := exporterContainer(t, r)
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext = %+v, want a read-only root, no escalation, all capabilities dropped", sc)
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 10141 || c.Ports[0].Name != "http-metrics" {
		t.Errorf("ports = %+v, want http-metrics 10141", c.Ports)
	}
	for probe, want := range map[*corev1.Probe]string{c.LivenessProbe: "/-/healthy", c.ReadinessProbe: "/-/ready"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port.String() != "http-metrics" {
			t.Errorf("probe %+v, want GET %s on http-metrics", probe, want)
		}
	}
	s := r.services[0]
	if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != 10141 || s.Spec.Ports[0].TargetPort.String() != "http-metrics" {
		t.Errorf("service ports = %+v", s.Spec.Ports)
	}
	for k, v := range s.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("service selects %s=%s, which the pod lacks", k, v)
		}
	}
}

// checkConfig: the rendered voicetrends.yml, with the Secret's keys where the
// pod mounts them, is what the exporter's parser accepts, with each account's
// password.
func checkConfig(t *testing.T, r rendered, c corev1.Container, keys, want map[string]string) {
	t.Helper()
	cm, ok := r.configMaps[fullname]
	if !ok {
		t.Fatalf("no ConfigMap %s", fullname)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	const configFile = "/etc/voicetrends_exporter/config/voicetrends.yml"
	if !slices.Contains(c.Args, "--config.file="+configFile) || mounts["config"] != filepath.Dir(configFile) {
		t.Fatalf("args %q, mounts %v: the config file is not where the exporter reads it", c.Args, mounts)
	}
	// The pod's filesystem, rebuilt under a temporary root.
	root := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(configFile, cm.Data["voicetrends.yml"])
	for k, v := range keys {
		write(filepath.Join(mounts["secrets"], k), v)
	}
	cfg, err := config.Load(filepath.Join(root, configFile))
	if err != nil {
		t.Fatalf("the exporter refuses the rendered configuration: %v\n%s", err, cm.Data["voicetrends.yml"])
	}
	got := map[string]string{}
	for _, a := range cfg.Accounts {
		got[a.Name] = a.Secret()
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("accounts' passwords = %v, want %v", got, want)
	}
}

// checkServiceMonitor: the job the alerts expect, and a fixed instance that
// the backfill's --label can repeat.
func checkServiceMonitor(t *testing.T, r rendered, instance string) {
	t.Helper()
	if len(r.serviceMonitors) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(r.serviceMonitors))
	}
	sm := r.serviceMonitors[0]
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http-metrics" {
		t.Fatalf("endpoints = %+v, want the port http-metrics", sm.Spec.Endpoints)
	}
	set := map[string]string{}
	for _, rc := range sm.Spec.Endpoints[0].RelabelConfigs {
		if rc.Replacement != nil {
			set[rc.TargetLabel] = *rc.Replacement
		}
	}
	if set["job"] != "voicetrends" || set["instance"] != instance {
		t.Errorf("relabelings set %v, want job=voicetrends instance=%s", set, instance)
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if r.services[0].Labels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s, which the Service lacks", k, v)
		}
	}
}

// checkPrometheusRule: the groups are prometheus/rules.yml's, decoded into
// the same type, so the chart cannot drift from the rules the tests prove.
func checkPrometheusRule(t *testing.T, r rendered, ruleFiles ...string) {
	t.Helper()
	if len(r.prometheusRules) != 1 {
		t.Fatalf("%d PrometheusRules, want 1", len(r.prometheusRules))
	}
	var want []monitoringv1.RuleGroup
	for _, f := range append([]string{"../../prometheus/rules.yml"}, ruleFiles...) {
		content, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var file struct {
			Groups []monitoringv1.RuleGroup `json:"groups"`
		}
		if err := yaml.UnmarshalStrict(content, &file); err != nil || len(file.Groups) == 0 {
			t.Fatalf("%s as PrometheusRule groups: %v, %d groups", f, err, len(file.Groups))
		}
		want = append(want, file.Groups...)
	}
	if got := r.prometheusRules[0].Spec.Groups; !reflect.DeepEqual(got, want) {
		t.Errorf("PrometheusRule groups differ from those of prometheus/rules.yml and %v:\n got %+v\nwant %+v", ruleFiles, got, want)
	}
}

// checkDashboards: one ConfigMap per dashboards/*.json, byte for byte, with
// the label Grafana's sidecar looks for.
func checkDashboards(t *testing.T, r rendered) {
	t.Helper()
	files, err := filepath.Glob("../../dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("dashboards: %v, %d files", err, len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		cm, ok := r.configMaps[fullname+"-"+strings.TrimSuffix(name, ".json")]
		if !ok {
			t.Errorf("no ConfigMap for %s", name)
			continue
		}
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data[name] != string(want) {
			t.Errorf("ConfigMap %s: %s differs from dashboards/%s", cm.Name, name, name)
		}
		if cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "VoiceTrends" {
			t.Errorf("ConfigMap %s: labels %v, annotations %v; want grafana_dashboard=1 and the folder", cm.Name, cm.Labels, cm.Annotations)
		}
	}
	if len(r.configMaps) != len(files) {
		t.Errorf("%d ConfigMaps for %d dashboards", len(r.configMaps), len(files))
	}
}

// kubePrometheusStack is the Prometheus that kube-prometheus-stack installed
// as Helm release name runs with its default values
// (prometheus.prometheusSpec.*SelectorNilUsesHelmValues: true): it takes
// ServiceMonitors and PrometheusRules labelled release: <name>, from every
// namespace (the *NamespaceSelector values default to {}).
func kubePrometheusStack(name string) monitoringv1.PrometheusSpec {
	byRelease := &metav1.LabelSelector{MatchLabels: map[string]string{"release": name}}
	var spec monitoringv1.PrometheusSpec
	spec.ServiceMonitorSelector, spec.ServiceMonitorNamespaceSelector = byRelease, &metav1.LabelSelector{}
	spec.RuleSelector, spec.RuleNamespaceSelector = byRelease, &metav1.LabelSelector{}
	return spec
}

// selects reports whether an object with labels in namespace ns passes the
// label and namespace selectors, as the Prometheus Operator reads them.
func selects(t *testing.T, selector, nsSelector *metav1.LabelSelector, ns string, objLabels map[string]string) bool {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		t.Fatal(err)
	}
	nsSel, err := metav1.LabelSelectorAsSelector(nsSelector)
	if err != nil {
		t.Fatal(err)
	}
	return sel.Matches(labels.Set(objLabels)) && nsSel.Matches(labels.Set{"kubernetes.io/metadata.name": ns})
}

// TestKubePrometheusStack: with the one value docs/install.md gives,
// kube-prometheus-stack's default selectors pick up both the ServiceMonitor
// and the PrometheusRule; without it they pick up neither.
func TestKubePrometheusStack(t *testing.T) {
	const stack = "kube-prometheus-stack"
	prom := kubePrometheusStack(stack)
	r := render(t, "kube-prometheus-stack-values.yaml")
	if len(r.serviceMonitors) != 1 || len(r.prometheusRules) != 1 {
		t.Fatalf("%d ServiceMonitors, %d PrometheusRules; want one each", len(r.serviceMonitors), len(r.prometheusRules))
	}
	if sm := r.serviceMonitors[0]; !selects(t, prom.ServiceMonitorSelector, prom.ServiceMonitorNamespaceSelector, "monitoring", sm.Labels) {
		t.Errorf("kube-prometheus-stack's serviceMonitorSelector %v skips the ServiceMonitor labelled %v", prom.ServiceMonitorSelector.MatchLabels, sm.Labels)
	}
	if pr := r.prometheusRules[0]; !selects(t, prom.RuleSelector, prom.RuleNamespaceSelector, "monitoring", pr.Labels) {
		t.Errorf("kube-prometheus-stack's ruleSelector %v skips the PrometheusRule labelled %v", prom.RuleSelector.MatchLabels, pr.Labels)
	}
	checkServiceMonitor(t, r, fullname)
	checkPrometheusRule(t, r)

	// The control: both objects turned on by hand but not labelled are skipped.
	plain := decode(t, helm(t, "template", release, chartDir, "--namespace", "monitoring", "-f", filepath.Join(chartDir, "ci", "existing-secret-values.yaml"),
		"--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true"))
	if len(plain.serviceMonitors) != 1 || len(plain.prometheusRules) != 1 {
		t.Fatalf("enabled by hand: %d ServiceMonitors, %d PrometheusRules; want one each", len(plain.serviceMonitors), len(plain.prometheusRules))
	}
	if selects(t, prom.ServiceMonitorSelector, prom.ServiceMonitorNamespaceSelector, "monitoring", plain.serviceMonitors[0].Labels) ||
		selects(t, prom.RuleSelector, prom.RuleNamespaceSelector, "monitoring", plain.prometheusRules[0].Labels) {
		t.Errorf("the selectors pick up objects without the release label: the check above proves nothing")
	}
}

// TestSecretNotPublished: no label or annotation of any rendered object, pod
// template included, depends on the passwords: rendered with other passwords,
// every one is the same, while the Secret's data differs. The pod is rolled
// by the Secret's generation instead.
func TestSecretNotPublished(t *testing.T) {
	args := []string{"template", release, chartDir, "--namespace", "monitoring", "-f", filepath.Join(chartDir, "ci", "account-values.yaml")}
	first := helm(t, args...)
	second := helm(t, append(args, "--set", "passwords.support=another-password", "--set", "passwords.sales=yet-another")...)
	a, b := metadataOf(t, first), metadataOf(t, second)
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Errorf("labels and annotations change with the passwords:\n got %v\nwant %v", b, a)
	}
	if r1, r2 := decode(t, first), decode(t, second); reflect.DeepEqual(r1.secrets, r2.secrets) {
		t.Fatal("the Secret is the same with other passwords: the check above proves nothing")
	}
	const key = "Deployment " + fullname + " pod annotation voicetrends-exporter/secret-generation"
	if got := a[key]; got != fullname+"/1" {
		t.Errorf("%s = %q, want %s/1 (the Secret's name and generation)", key, got, fullname)
	}
	for k := range a {
		if strings.Contains(k, "checksum/passwords") {
			t.Errorf("%s: a checksum of the passwords", k)
		}
	}
}

// metadataOf returns every label and annotation of the rendered objects and
// of their pod templates, keyed by kind, name and key.
func metadataOf(t *testing.T, manifests []byte) map[string]string {
	t.Helper()
	type meta struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	}
	out := map[string]string{}
	for _, doc := range bytes.Split(manifests, []byte("\n---\n")) {
		var o struct {
			Kind     string `json:"kind"`
			Metadata meta   `json:"metadata"`
			Spec     struct {
				Template struct {
					Metadata meta `json:"metadata"`
				} `json:"template"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatal(err)
		}
		add := func(where string, m map[string]string) {
			for k, v := range m {
				out[o.Kind+" "+o.Metadata.Name+" "+where+" "+k] = v
			}
		}
		add("label", o.Metadata.Labels)
		add("annotation", o.Metadata.Annotations)
		add("pod label", o.Spec.Template.Metadata.Labels)
		add("pod annotation", o.Spec.Template.Metadata.Annotations)
	}
	return out
}
