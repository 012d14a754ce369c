{{/* The release's name for objects, at most 63 characters. */}}
{{- define "voicetrends.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "voicetrends.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "voicetrends.labels" -}}
{{ include "voicetrends.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
The labels of a Prometheus Operator object: release: <prometheusOperator.release>,
which kube-prometheus-stack's default selectors match, then the object's own
labels (list: the root context, the labels), which win. Empty when neither is set.
*/}}
{{- define "voicetrends.operatorLabels" -}}
{{- $root := index . 0 -}}
{{- $labels := dict -}}
{{- with $root.Values.prometheusOperator.release }}{{ $_ := set $labels "release" . }}{{ end -}}
{{- $labels = merge (deepCopy (index . 1)) $labels -}}
{{- if $labels }}{{ toYaml $labels }}{{ end -}}
{{- end -}}

{{- define "voicetrends.secretName" -}}
{{- .Values.existingSecret | default (include "voicetrends.fullname" .) -}}
{{- end -}}

{{/*
The exporter's configuration: the values' config, each account's password_file
pointing at its key in the Secret, mounted at /etc/voicetrends_exporter/secrets
(relative paths resolve from the config file's directory).
*/}}
{{- define "voicetrends.config" -}}
{{- if not .Values.config.accounts -}}
{{- fail "set config.accounts (and passwords or existingSecret), or demo=true" -}}
{{- end -}}
{{- if not (or .Values.existingSecret .Values.passwords) -}}
{{- fail "set existingSecret or passwords: the password of every account in config.accounts" -}}
{{- end -}}
{{- $accounts := list -}}
{{- range .Values.config.accounts -}}
{{- if or (hasKey . "password") (hasKey . "password_file") -}}
{{- fail (printf "config.accounts %s: leave password and password_file out; the chart mounts the Secret's key %q" .name .name) -}}
{{- end -}}
{{- if and (not $.Values.existingSecret) (not (hasKey $.Values.passwords .name)) -}}
{{- fail (printf "passwords.%s: missing the password of account %q" .name .name) -}}
{{- end -}}
{{- $accounts = append $accounts (merge (dict "password_file" (printf "../secrets/%s" .name)) .) -}}
{{- end -}}
{{- toYaml (merge (dict "accounts" $accounts) (omit .Values.config "accounts")) -}}
{{- end -}}

{{/*
The generation of the Secret the pod mounts, for the pod's annotation: a new
generation rolls the pod, and nothing derived from a password is published (a
checksum would let anyone who may read pods test guesses offline). A Secret the
chart makes counts its changes in its own annotation, compared with the one in
the cluster; an existing Secret's resourceVersion changes with every write.
Rendered without a cluster (helm template) there is nothing to look up.
*/}}
{{- define "voicetrends.secretGeneration" -}}
{{- $old := lookup "v1" "Secret" .Release.Namespace (include "voicetrends.secretName" .) -}}
{{- if .Values.existingSecret -}}
{{- dig "metadata" "resourceVersion" "unknown" $old -}}
{{- else -}}
{{- $data := dict -}}
{{- range $name, $password := .Values.passwords }}{{ $_ := set $data $name ($password | b64enc) }}{{ end -}}
{{- $gen := int (dig "metadata" "annotations" "voicetrends-exporter/generation" "0" $old) -}}
{{- if ne (toJson (dig "data" (dict) $old)) (toJson $data) }}{{ $gen = add1 $gen }}{{ end -}}
{{- $gen -}}
{{- end -}}
{{- end -}}
