package dashboards

import (
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestStackWiring keeps the compose stack's files pointing at each other: the scrape
// job the exporter-down alert names, the rule file, the exporter's port, and the
// dashboards Grafana mounts and opens at home.
func TestStackWiring(t *testing.T) {
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
		Alerting struct {
			Alertmanagers []struct {
				StaticConfigs []struct {
					Targets []string `yaml:"targets"`
				} `yaml:"static_configs"`
			} `yaml:"alertmanagers"`
		} `yaml:"alerting"`
	}
	readYAML(t, "../prometheus/prometheus.yml", &prom)
	if !slices.Contains(prom.RuleFiles, "rules.yml") {
		t.Errorf("prometheus.yml rule_files %v, want rules.yml", prom.RuleFiles)
	}
	var exporterTargets []string
	for _, sc := range prom.ScrapeConfigs {
		if sc.JobName == "voicetrends" {
			for _, s := range sc.StaticConfigs {
				exporterTargets = append(exporterTargets, s.Targets...)
			}
		}
	}
	if !slices.Equal(exporterTargets, []string{"exporter:10141"}) {
		t.Errorf("prometheus.yml job voicetrends targets %v, want [exporter:10141] (the alert VoiceTrendsExporterDown needs job=\"voicetrends\")", exporterTargets)
	}
	if len(prom.Alerting.Alertmanagers) != 1 || len(prom.Alerting.Alertmanagers[0].StaticConfigs) != 1 ||
		!slices.Equal(prom.Alerting.Alertmanagers[0].StaticConfigs[0].Targets, []string{"alertmanager:9093"}) {
		t.Errorf("prometheus.yml alerting %+v, want alertmanager:9093", prom.Alerting)
	}

	var compose struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	readYAML(t, "../docker-compose.yml", &compose)
	for _, name := range []string{"exporter", "prometheus", "alertmanager", "grafana"} {
		if _, ok := compose.Services[name]; !ok {
			t.Errorf("docker-compose.yml has no service %q", name)
		}
	}
	if got := compose.Services["exporter"].Command; !slices.Equal(got, []string{"--demo"}) {
		t.Errorf("exporter command %v, want [--demo] by default", got)
	}
	grafana := compose.Services["grafana"]
	mounted := map[string]string{} // container path -> host path
	for _, v := range grafana.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			mounted[parts[1]] = parts[0]
		}
	}
	home := grafana.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	if mounted[home] != "./dashboards/call-volume.json" {
		t.Errorf("home dashboard %q is mounted from %q, want ./dashboards/call-volume.json", home, mounted[home])
	}
	var provider struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "provisioning/dashboards/voicetrends.yml", &provider)
	if len(provider.Providers) != 1 {
		t.Fatalf("dashboard provisioning: %d providers, want 1", len(provider.Providers))
	}
	for name := range wantUIDs {
		container := path.Join(provider.Providers[0].Options.Path, name)
		if mounted[container] != "./dashboards/"+name {
			t.Errorf("dashboard %s: grafana mounts %q at %s, want ./dashboards/%s", name, mounted[container], container, name)
		}
	}
	if mounted["/etc/grafana/provisioning/datasources"] != "./dashboards/provisioning/datasources" ||
		mounted["/etc/grafana/provisioning/dashboards"] != "./dashboards/provisioning/dashboards" {
		t.Errorf("grafana provisioning mounts %v", mounted)
	}
}

func readYAML(t *testing.T, file string, into any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	if err := yaml.Unmarshal(raw, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
