{{/* Name of the chart, overridable by nothing: the operator is one thing. */}}
{{- define "rerunnable.name" -}}
rerunnable
{{- end -}}

{{/* Release-scoped name of every object: "<release>" if it contains "rerunnable", else "<release>-rerunnable". */}}
{{- define "rerunnable.fullname" -}}
{{- if contains "rerunnable" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-rerunnable" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rerunnable.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "rerunnable.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "rerunnable.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rerunnable.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rerunnable.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rerunnable.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "rerunnable.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* What the operator does in a namespace it watches: the rules of its Role or ClusterRole. */}}
{{- define "rerunnable.namespacedRules" -}}
- apiGroups: ["rerunnable.dev"]
  resources: ["rerunnablejobs"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["rerunnable.dev"]
  resources: ["rerunnablejobs/status", "executions/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["rerunnable.dev"]
  resources: ["executions"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
# The pods of runs: what they left in their termination messages, and whether one
# that reports is a pod of that run's Job.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list"]
{{- end -}}

{{/*
Namespaces an admission webhook or policy acts in: the given LabelSelector, else
the watched namespaces, else all. Call with (list $selector $).
*/}}
{{- define "rerunnable.admissionNamespaceSelector" -}}
{{- $selector := index . 0 -}}
{{- $root := index . 1 -}}
{{- if and (not $selector) $root.Values.watchNamespaces -}}
{{- $selector = dict "matchExpressions" (list (dict "key" "kubernetes.io/metadata.name" "operator" "In" "values" $root.Values.watchNamespaces)) -}}
{{- end -}}
{{- toYaml $selector -}}
{{- end -}}
