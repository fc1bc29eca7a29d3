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

{{/*
Labels of every object: call with (list $ "component"). The component says which part
of the release an object belongs to (operator, webhook, reports, user-roles,
admission-policy, crds, monitoring). commonLabels add to them and never replace one.
*/}}
{{- define "rerunnable.labels" -}}
{{- $root := index . 0 -}}
{{- $labels := fromYaml (include "rerunnable.selectorLabels" $root) -}}
{{- $_ := set $labels "helm.sh/chart" (printf "%s-%s" $root.Chart.Name $root.Chart.Version) -}}
{{- $_ = set $labels "app.kubernetes.io/component" (index . 1) -}}
{{- $_ = set $labels "app.kubernetes.io/part-of" "rerunnable" -}}
{{- $_ = set $labels "app.kubernetes.io/version" $root.Chart.AppVersion -}}
{{- $_ = set $labels "app.kubernetes.io/managed-by" $root.Release.Service -}}
{{- range $key, $_ := $root.Values.commonLabels -}}
{{- if hasKey $labels $key -}}
{{- fail (printf "commonLabels: %s is one of the chart's own labels and cannot be set" $key) -}}
{{- end -}}
{{- end -}}
{{- toYaml (merge $labels (deepCopy ($root.Values.commonLabels | default dict))) -}}
{{- end -}}

{{/* The operator's pods: their selector labels and component, then commonLabels and podLabels. */}}
{{- define "rerunnable.podLabels" -}}
{{- $labels := fromYaml (include "rerunnable.selectorLabels" .) -}}
{{- $_ := set $labels "app.kubernetes.io/component" "operator" -}}
{{- $_ = set $labels "app.kubernetes.io/part-of" "rerunnable" -}}
{{- range $key, $_ := .Values.podLabels -}}
{{- if hasKey $labels $key -}}
{{- fail (printf "podLabels: %s is one of the chart's own labels and cannot be set" $key) -}}
{{- end -}}
{{- end -}}
{{- $extra := merge (deepCopy (.Values.podLabels | default dict)) (deepCopy (.Values.commonLabels | default dict)) -}}
{{- toYaml (merge $labels $extra) -}}
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
