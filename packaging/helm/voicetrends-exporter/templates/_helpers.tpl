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
