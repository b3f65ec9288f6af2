"""What a decode into Kubernetes' Go types and a re-encode with ``encoding/json`` do to a workload.

Istio decodes every manifest it injects into the typed structs of ``k8s.io/api`` (and OpenShift's
``apps.openshift.io/v1``) and writes them back with ``encoding/json``. That round trip shows in its output:
unknown fields and ``null`` values disappear, ``omitempty`` fields at their zero value are dropped, pointer
fields keep explicit zero values, fields without ``omitempty`` appear even when unset (``status: {}``,
``containers: null``, ``replicas: 0``), quantities are re-printed canonically, and keys come out in struct
declaration order. :func:`normalize` reproduces exactly that on plain JSON-like data; :func:`to_json` writes
the result the way ``json.Marshal`` does.

The schema below lists, per Go struct, its fields in declaration order (embedded ``inline`` structs are
flattened into their place). It follows k8s.io/api v0.36.1 and the OpenShift API pinned by Istio. A field
is ``jsonName[:kind][flags]``:

* kind ``s`` string (the default), ``i`` int32, ``l`` int64, ``b`` bool, ``q`` ``resource.Quantity``,
  ``ios`` ``intstr.IntOrString``, ``t`` ``metav1.Time``, ``r`` opaque JSON (``RawExtension``, managed fields),
  or a struct name from the schema; ``*K`` is a pointer, ``[K]`` a slice, ``{K}`` a map with string keys;
* flag ``!``: no ``omitempty`` (the zero value is written); flag ``~``: ``omitzero``.

OpenShift types whose names clash with ``apps/v1`` ones carry an ``OS`` prefix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from meshinject.gotemplate import gojson

from .quantity import QuantityError, canonical_quantity

__all__ = [
    "WORKLOAD_KINDS",
    "KubeDecodeError",
    "container_json",
    "normalize",
    "normalize_as",
    "to_json",
]

# fmt: off
_SCHEMA: Final[dict[str, str]] = {
    "Pod": "kind apiVersion metadata:ObjectMeta spec:PodSpec status:PodStatus",
    "ObjectMeta": (
        "name generateName namespace selfLink uid resourceVersion generation:l creationTimestamp:t~ "
        "deletionTimestamp:*t deletionGracePeriodSeconds:*l labels:{s} annotations:{s} "
        "ownerReferences:[OwnerReference] finalizers:[s] managedFields:[r]"
    ),
    "OwnerReference": "apiVersion! kind! name! uid! controller:*b blockOwnerDeletion:*b",
    "PodSpec": (
        "volumes:[Volume] initContainers:[Container] containers:[Container]! "
        "ephemeralContainers:[EphemeralContainer] restartPolicy terminationGracePeriodSeconds:*l "
        "activeDeadlineSeconds:*l dnsPolicy nodeSelector:{s} serviceAccountName serviceAccount "
        "automountServiceAccountToken:*b nodeName hostNetwork:b hostPID:b hostIPC:b "
        "shareProcessNamespace:*b securityContext:*PodSecurityContext "
        "imagePullSecrets:[LocalObjectReference] hostname subdomain affinity:*Affinity schedulerName "
        "tolerations:[Toleration] hostAliases:[HostAlias] priorityClassName priority:*i "
        "dnsConfig:*PodDNSConfig readinessGates:[PodReadinessGate] runtimeClassName:*s "
        "enableServiceLinks:*b preemptionPolicy:*s overhead:{q} "
        "topologySpreadConstraints:[TopologySpreadConstraint] setHostnameAsFQDN:*b os:*PodOS hostUsers:*b "
        "schedulingGates:[PodSchedulingGate] resourceClaims:[PodResourceClaim] "
        "resources:*ResourceRequirements hostnameOverride:*s schedulingGroup:*PodSchedulingGroup"
    ),
    "Volume": (
        "name! hostPath:*HostPathVolumeSource emptyDir:*EmptyDirVolumeSource "
        "gcePersistentDisk:*GCEPersistentDiskVolumeSource "
        "awsElasticBlockStore:*AWSElasticBlockStoreVolumeSource gitRepo:*GitRepoVolumeSource "
        "secret:*SecretVolumeSource nfs:*NFSVolumeSource iscsi:*ISCSIVolumeSource "
        "glusterfs:*GlusterfsVolumeSource persistentVolumeClaim:*PersistentVolumeClaimVolumeSource "
        "rbd:*RBDVolumeSource flexVolume:*FlexVolumeSource cinder:*CinderVolumeSource "
        "cephfs:*CephFSVolumeSource flocker:*FlockerVolumeSource downwardAPI:*DownwardAPIVolumeSource "
        "fc:*FCVolumeSource azureFile:*AzureFileVolumeSource configMap:*ConfigMapVolumeSource "
        "vsphereVolume:*VsphereVirtualDiskVolumeSource quobyte:*QuobyteVolumeSource "
        "azureDisk:*AzureDiskVolumeSource photonPersistentDisk:*PhotonPersistentDiskVolumeSource "
        "projected:*ProjectedVolumeSource portworxVolume:*PortworxVolumeSource "
        "scaleIO:*ScaleIOVolumeSource storageos:*StorageOSVolumeSource csi:*CSIVolumeSource "
        "ephemeral:*EphemeralVolumeSource image:*ImageVolumeSource"
    ),
    "HostPathVolumeSource": "path! type:*s",
    "EmptyDirVolumeSource": "medium sizeLimit:*q",
    "GCEPersistentDiskVolumeSource": "pdName! fsType partition:i readOnly:b",
    "AWSElasticBlockStoreVolumeSource": "volumeID! fsType partition:i readOnly:b",
    "GitRepoVolumeSource": "repository! revision directory",
    "SecretVolumeSource": "secretName items:[KeyToPath] defaultMode:*i optional:*b",
    "KeyToPath": "key! path! mode:*i",
    "NFSVolumeSource": "server! path! readOnly:b",
    "ISCSIVolumeSource": (
        "targetPortal! iqn! lun:i! iscsiInterface fsType readOnly:b portals:[s] chapAuthDiscovery:b "
        "chapAuthSession:b secretRef:*LocalObjectReference initiatorName:*s"
    ),
    "LocalObjectReference": "name",
    "GlusterfsVolumeSource": "endpoints! path! readOnly:b",
    "PersistentVolumeClaimVolumeSource": "claimName! readOnly:b",
    "RBDVolumeSource": (
        "monitors:[s]! image! fsType pool user keyring secretRef:*LocalObjectReference readOnly:b"
    ),
    "FlexVolumeSource": "driver! fsType secretRef:*LocalObjectReference readOnly:b options:{s}",
    "CinderVolumeSource": "volumeID! fsType readOnly:b secretRef:*LocalObjectReference",
    "CephFSVolumeSource": "monitors:[s]! path user secretFile secretRef:*LocalObjectReference readOnly:b",
    "FlockerVolumeSource": "datasetName datasetUUID",
    "DownwardAPIVolumeSource": "items:[DownwardAPIVolumeFile] defaultMode:*i",
    "DownwardAPIVolumeFile": (
        "path! fieldRef:*ObjectFieldSelector resourceFieldRef:*ResourceFieldSelector mode:*i"
    ),
    "ObjectFieldSelector": "apiVersion fieldPath!",
    "ResourceFieldSelector": "containerName resource! divisor:q",
    "FCVolumeSource": "targetWWNs:[s] lun:*i fsType readOnly:b wwids:[s]",
    "AzureFileVolumeSource": "secretName! shareName! readOnly:b",
    "ConfigMapVolumeSource": "name items:[KeyToPath] defaultMode:*i optional:*b",
    "VsphereVirtualDiskVolumeSource": "volumePath! fsType storagePolicyName storagePolicyID",
    "QuobyteVolumeSource": "registry! volume! readOnly:b user group tenant",
    "AzureDiskVolumeSource": "diskName! diskURI! cachingMode:*s fsType:*s readOnly:*b kind:*s",
    "PhotonPersistentDiskVolumeSource": "pdID! fsType",
    "ProjectedVolumeSource": "sources:[VolumeProjection]! defaultMode:*i",
    "VolumeProjection": (
        "secret:*SecretProjection downwardAPI:*DownwardAPIProjection configMap:*ConfigMapProjection "
        "serviceAccountToken:*ServiceAccountTokenProjection "
        "clusterTrustBundle:*ClusterTrustBundleProjection podCertificate:*PodCertificateProjection"
    ),
    "SecretProjection": "name items:[KeyToPath] optional:*b",
    "DownwardAPIProjection": "items:[DownwardAPIVolumeFile]",
    "ConfigMapProjection": "name items:[KeyToPath] optional:*b",
    "ServiceAccountTokenProjection": "audience expirationSeconds:*l path!",
    "ClusterTrustBundleProjection": "name:*s signerName:*s labelSelector:*LabelSelector optional:*b path!",
    "LabelSelector": "matchLabels:{s} matchExpressions:[LabelSelectorRequirement]",
    "LabelSelectorRequirement": "key! operator! values:[s]",
    "PodCertificateProjection": (
        "signerName keyType maxExpirationSeconds:*i credentialBundlePath keyPath certificateChainPath "
        "userAnnotations:{s}"
    ),
    "PortworxVolumeSource": "volumeID! fsType readOnly:b",
    "ScaleIOVolumeSource": (
        "gateway! system! secretRef:*LocalObjectReference! sslEnabled:b protectionDomain storagePool "
        "storageMode volumeName fsType readOnly:b"
    ),
    "StorageOSVolumeSource": "volumeName volumeNamespace fsType readOnly:b secretRef:*LocalObjectReference",
    "CSIVolumeSource": (
        "driver! readOnly:*b fsType:*s volumeAttributes:{s} nodePublishSecretRef:*LocalObjectReference"
    ),
    "EphemeralVolumeSource": "volumeClaimTemplate:*PersistentVolumeClaimTemplate",
    "PersistentVolumeClaimTemplate": "metadata:ObjectMeta spec:PersistentVolumeClaimSpec!",
    "PersistentVolumeClaimSpec": (
        "accessModes:[s] selector:*LabelSelector resources:VolumeResourceRequirements volumeName "
        "storageClassName:*s volumeMode:*s dataSource:*TypedLocalObjectReference "
        "dataSourceRef:*TypedObjectReference volumeAttributesClassName:*s"
    ),
    "VolumeResourceRequirements": "limits:{q} requests:{q}",
    "TypedLocalObjectReference": "apiGroup:*s! kind! name!",
    "TypedObjectReference": "apiGroup:*s! kind! name! namespace:*s",
    "ImageVolumeSource": "reference pullPolicy",
    "Container": (
        "name! image command:[s] args:[s] workingDir ports:[ContainerPort] envFrom:[EnvFromSource] "
        "env:[EnvVar] resources:ResourceRequirements resizePolicy:[ContainerResizePolicy] "
        "restartPolicy:*s restartPolicyRules:[ContainerRestartRule] volumeMounts:[VolumeMount] "
        "volumeDevices:[VolumeDevice] livenessProbe:*Probe readinessProbe:*Probe startupProbe:*Probe "
        "lifecycle:*Lifecycle terminationMessagePath terminationMessagePolicy imagePullPolicy "
        "securityContext:*SecurityContext stdin:b stdinOnce:b tty:b"
    ),
    "ContainerPort": "name hostPort:i containerPort:i! protocol hostIP",
    "EnvFromSource": "prefix configMapRef:*ConfigMapEnvSource secretRef:*SecretEnvSource",
    "ConfigMapEnvSource": "name optional:*b",
    "SecretEnvSource": "name optional:*b",
    "EnvVar": "name! value valueFrom:*EnvVarSource",
    "EnvVarSource": (
        "fieldRef:*ObjectFieldSelector resourceFieldRef:*ResourceFieldSelector "
        "configMapKeyRef:*ConfigMapKeySelector secretKeyRef:*SecretKeySelector "
        "fileKeyRef:*FileKeySelector"
    ),
    "ConfigMapKeySelector": "name key! optional:*b",
    "SecretKeySelector": "name key! optional:*b",
    "FileKeySelector": "volumeName! path! key! optional:*b",
    "ResourceRequirements": "limits:{q} requests:{q} claims:[ResourceClaim]",
    "ResourceClaim": "name! request",
    "ContainerResizePolicy": "resourceName! restartPolicy!",
    "ContainerRestartRule": "action exitCodes:*ContainerRestartRuleOnExitCodes",
    "ContainerRestartRuleOnExitCodes": "operator values:[i]",
    "VolumeMount": "name! readOnly:b recursiveReadOnly:*s mountPath! subPath mountPropagation:*s subPathExpr",
    "VolumeDevice": "name! devicePath!",
    "Probe": (
        "exec:*ExecAction httpGet:*HTTPGetAction tcpSocket:*TCPSocketAction grpc:*GRPCAction "
        "initialDelaySeconds:i timeoutSeconds:i periodSeconds:i successThreshold:i failureThreshold:i "
        "terminationGracePeriodSeconds:*l"
    ),
    "ExecAction": "command:[s]",
    "HTTPGetAction": "path port:ios! host scheme httpHeaders:[HTTPHeader]",
    "HTTPHeader": "name! value!",
    "TCPSocketAction": "port:ios! host",
    "GRPCAction": "port:i! service:*s!",
    "Lifecycle": "postStart:*LifecycleHandler preStop:*LifecycleHandler stopSignal:*s",
    "LifecycleHandler": (
        "exec:*ExecAction httpGet:*HTTPGetAction tcpSocket:*TCPSocketAction sleep:*SleepAction"
    ),
    "SleepAction": "seconds:l!",
    "SecurityContext": (
        "capabilities:*Capabilities privileged:*b seLinuxOptions:*SELinuxOptions "
        "windowsOptions:*WindowsSecurityContextOptions runAsUser:*l runAsGroup:*l runAsNonRoot:*b "
        "readOnlyRootFilesystem:*b allowPrivilegeEscalation:*b procMount:*s "
        "seccompProfile:*SeccompProfile appArmorProfile:*AppArmorProfile"
    ),
    "Capabilities": "add:[s] drop:[s]",
    "SELinuxOptions": "user role type level",
    "WindowsSecurityContextOptions": (
        "gmsaCredentialSpecName:*s gmsaCredentialSpec:*s runAsUserName:*s hostProcess:*b"
    ),
    "SeccompProfile": "type! localhostProfile:*s",
    "AppArmorProfile": "type! localhostProfile:*s",
    "EphemeralContainer": (
        "name! image command:[s] args:[s] workingDir ports:[ContainerPort] envFrom:[EnvFromSource] "
        "env:[EnvVar] resources:ResourceRequirements resizePolicy:[ContainerResizePolicy] "
        "restartPolicy:*s restartPolicyRules:[ContainerRestartRule] volumeMounts:[VolumeMount] "
        "volumeDevices:[VolumeDevice] livenessProbe:*Probe readinessProbe:*Probe startupProbe:*Probe "
        "lifecycle:*Lifecycle terminationMessagePath terminationMessagePolicy imagePullPolicy "
        "securityContext:*SecurityContext stdin:b stdinOnce:b tty:b targetContainerName"
    ),
    "PodSecurityContext": (
        "seLinuxOptions:*SELinuxOptions windowsOptions:*WindowsSecurityContextOptions runAsUser:*l "
        "runAsGroup:*l runAsNonRoot:*b supplementalGroups:[l] supplementalGroupsPolicy:*s fsGroup:*l "
        "sysctls:[Sysctl] fsGroupChangePolicy:*s seccompProfile:*SeccompProfile "
        "appArmorProfile:*AppArmorProfile seLinuxChangePolicy:*s"
    ),
    "Sysctl": "name! value!",
    "Affinity": "nodeAffinity:*NodeAffinity podAffinity:*PodAffinity podAntiAffinity:*PodAntiAffinity",
    "NodeAffinity": (
        "requiredDuringSchedulingIgnoredDuringExecution:*NodeSelector "
        "preferredDuringSchedulingIgnoredDuringExecution:[PreferredSchedulingTerm]"
    ),
    "NodeSelector": "nodeSelectorTerms:[NodeSelectorTerm]!",
    "NodeSelectorTerm": "matchExpressions:[NodeSelectorRequirement] matchFields:[NodeSelectorRequirement]",
    "NodeSelectorRequirement": "key! operator! values:[s]",
    "PreferredSchedulingTerm": "weight:i! preference:NodeSelectorTerm!",
    "PodAffinity": (
        "requiredDuringSchedulingIgnoredDuringExecution:[PodAffinityTerm] "
        "preferredDuringSchedulingIgnoredDuringExecution:[WeightedPodAffinityTerm]"
    ),
    "PodAffinityTerm": (
        "labelSelector:*LabelSelector namespaces:[s] topologyKey! namespaceSelector:*LabelSelector "
        "matchLabelKeys:[s] mismatchLabelKeys:[s]"
    ),
    "WeightedPodAffinityTerm": "weight:i! podAffinityTerm:PodAffinityTerm!",
    "PodAntiAffinity": (
        "requiredDuringSchedulingIgnoredDuringExecution:[PodAffinityTerm] "
        "preferredDuringSchedulingIgnoredDuringExecution:[WeightedPodAffinityTerm]"
    ),
    "Toleration": "key operator value effect tolerationSeconds:*l",
    "HostAlias": "ip! hostnames:[s]",
    "PodDNSConfig": "nameservers:[s] searches:[s] options:[PodDNSConfigOption]",
    "PodDNSConfigOption": "name value:*s",
    "PodReadinessGate": "conditionType!",
    "TopologySpreadConstraint": (
        "maxSkew:i! topologyKey! whenUnsatisfiable! labelSelector:*LabelSelector minDomains:*i "
        "nodeAffinityPolicy:*s nodeTaintsPolicy:*s matchLabelKeys:[s]"
    ),
    "PodOS": "name!",
    "PodSchedulingGate": "name!",
    "PodResourceClaim": "name! resourceClaimName:*s resourceClaimTemplateName:*s",
    "PodSchedulingGroup": "podGroupName:*s",
    "PodStatus": (
        "observedGeneration:l phase conditions:[PodCondition] message reason nominatedNodeName hostIP "
        "hostIPs:[HostIP] podIP podIPs:[PodIP] startTime:*t initContainerStatuses:[ContainerStatus] "
        "containerStatuses:[ContainerStatus] qosClass ephemeralContainerStatuses:[ContainerStatus] resize "
        "resourceClaimStatuses:[PodResourceClaimStatus] "
        "extendedResourceClaimStatus:*PodExtendedResourceClaimStatus allocatedResources:{q} "
        "resources:*ResourceRequirements "
        "nodeAllocatableResourceClaimStatuses:[NodeAllocatableResourceClaimStatus]"
    ),
    "PodCondition": "type! observedGeneration:l status! lastProbeTime:t lastTransitionTime:t reason message",
    "HostIP": "ip!",
    "PodIP": "ip!",
    "ContainerStatus": (
        "name! state:ContainerState lastState:ContainerState ready:b! restartCount:i! image! imageID! "
        "containerID started:*b allocatedResources:{q} resources:*ResourceRequirements "
        "volumeMounts:[VolumeMountStatus] user:*ContainerUser allocatedResourcesStatus:[ResourceStatus] "
        "stopSignal:*s"
    ),
    "ContainerState": (
        "waiting:*ContainerStateWaiting running:*ContainerStateRunning "
        "terminated:*ContainerStateTerminated"
    ),
    "ContainerStateWaiting": "reason message",
    "ContainerStateRunning": "startedAt:t",
    "ContainerStateTerminated": "exitCode:i! signal:i reason message startedAt:t finishedAt:t containerID",
    "VolumeMountStatus": "name! mountPath! readOnly:b recursiveReadOnly:*s volumeStatus:*VolumeStatus",
    "VolumeStatus": "image:*ImageVolumeStatus",
    "ImageVolumeStatus": "imageRef",
    "ContainerUser": "linux:*LinuxContainerUser",
    "LinuxContainerUser": "uid:l! gid:l! supplementalGroups:[l]",
    "ResourceStatus": "name! resources:[ResourceHealth]",
    "ResourceHealth": "resourceID! health message:*s",
    "PodResourceClaimStatus": "name! resourceClaimName:*s",
    "PodExtendedResourceClaimStatus": (
        "requestMappings:[ContainerExtendedResourceRequest]! resourceClaimName!"
    ),
    "ContainerExtendedResourceRequest": "containerName! resourceName! requestName!",
    "NodeAllocatableResourceClaimStatus": "resourceClaimName! containers:[s] resources:{q}!",
    "Deployment": "kind apiVersion metadata:ObjectMeta spec:DeploymentSpec status:DeploymentStatus",
    "DeploymentSpec": (
        "replicas:*i selector:*LabelSelector! template:PodTemplateSpec! strategy:DeploymentStrategy "
        "minReadySeconds:i revisionHistoryLimit:*i paused:b progressDeadlineSeconds:*i"
    ),
    "PodTemplateSpec": "metadata:ObjectMeta spec:PodSpec",
    "DeploymentStrategy": "type rollingUpdate:*RollingUpdateDeployment",
    "RollingUpdateDeployment": "maxUnavailable:*ios maxSurge:*ios",
    "DeploymentStatus": (
        "observedGeneration:l replicas:i updatedReplicas:i readyReplicas:i availableReplicas:i "
        "unavailableReplicas:i terminatingReplicas:*i conditions:[DeploymentCondition] collisionCount:*i"
    ),
    "DeploymentCondition": "type! status! lastUpdateTime:t lastTransitionTime:t reason message",
    "DaemonSet": "kind apiVersion metadata:ObjectMeta spec:DaemonSetSpec status:DaemonSetStatus",
    "DaemonSetSpec": (
        "selector:*LabelSelector! template:PodTemplateSpec! updateStrategy:DaemonSetUpdateStrategy "
        "minReadySeconds:i revisionHistoryLimit:*i"
    ),
    "DaemonSetUpdateStrategy": "type rollingUpdate:*RollingUpdateDaemonSet",
    "RollingUpdateDaemonSet": "maxUnavailable:*ios maxSurge:*ios",
    "DaemonSetStatus": (
        "currentNumberScheduled:i! numberMisscheduled:i! desiredNumberScheduled:i! numberReady:i! "
        "observedGeneration:l updatedNumberScheduled:i numberAvailable:i numberUnavailable:i "
        "collisionCount:*i conditions:[DaemonSetCondition]"
    ),
    "DaemonSetCondition": "type! status! lastTransitionTime:t reason message",
    "StatefulSet": "kind apiVersion metadata:ObjectMeta spec:StatefulSetSpec status:StatefulSetStatus",
    "StatefulSetSpec": (
        "replicas:*i selector:*LabelSelector! template:PodTemplateSpec! "
        "volumeClaimTemplates:[PersistentVolumeClaim] serviceName! podManagementPolicy "
        "updateStrategy:StatefulSetUpdateStrategy revisionHistoryLimit:*i minReadySeconds:i "
        "persistentVolumeClaimRetentionPolicy:*StatefulSetPersistentVolumeClaimRetentionPolicy "
        "ordinals:*StatefulSetOrdinals"
    ),
    "PersistentVolumeClaim": (
        "kind apiVersion metadata:ObjectMeta spec:PersistentVolumeClaimSpec "
        "status:PersistentVolumeClaimStatus"
    ),
    "PersistentVolumeClaimStatus": (
        "phase accessModes:[s] capacity:{q} conditions:[PersistentVolumeClaimCondition] "
        "allocatedResources:{q} allocatedResourceStatuses:{s} currentVolumeAttributesClassName:*s "
        "modifyVolumeStatus:*ModifyVolumeStatus"
    ),
    "PersistentVolumeClaimCondition": "type! status! lastProbeTime:t lastTransitionTime:t reason message",
    "ModifyVolumeStatus": "targetVolumeAttributesClassName status!",
    "StatefulSetUpdateStrategy": "type rollingUpdate:*RollingUpdateStatefulSetStrategy",
    "RollingUpdateStatefulSetStrategy": "partition:*i maxUnavailable:*ios",
    "StatefulSetPersistentVolumeClaimRetentionPolicy": "whenDeleted whenScaled",
    "StatefulSetOrdinals": "start:i!",
    "StatefulSetStatus": (
        "observedGeneration:l replicas:i! readyReplicas:i currentReplicas:i updatedReplicas:i "
        "currentRevision updateRevision collisionCount:*i conditions:[StatefulSetCondition] "
        "availableReplicas:i!"
    ),
    "StatefulSetCondition": "type! status! lastTransitionTime:t reason message",
    "ReplicaSet": "kind apiVersion metadata:ObjectMeta spec:ReplicaSetSpec status:ReplicaSetStatus",
    "ReplicaSetSpec": "replicas:*i minReadySeconds:i selector:*LabelSelector! template:PodTemplateSpec",
    "ReplicaSetStatus": (
        "replicas:i! fullyLabeledReplicas:i readyReplicas:i availableReplicas:i terminatingReplicas:*i "
        "observedGeneration:l conditions:[ReplicaSetCondition]"
    ),
    "ReplicaSetCondition": "type! status! lastTransitionTime:t reason message",
    "ReplicationController": (
        "kind apiVersion metadata:ObjectMeta spec:ReplicationControllerSpec "
        "status:ReplicationControllerStatus"
    ),
    "ReplicationControllerSpec": "replicas:*i minReadySeconds:i selector:{s} template:*PodTemplateSpec",
    "ReplicationControllerStatus": (
        "replicas:i! fullyLabeledReplicas:i readyReplicas:i availableReplicas:i observedGeneration:l "
        "conditions:[ReplicationControllerCondition]"
    ),
    "ReplicationControllerCondition": "type! status! lastTransitionTime:t reason message",
    "Job": "kind apiVersion metadata:ObjectMeta spec:JobSpec status:JobStatus",
    "JobSpec": (
        "parallelism:*i completions:*i activeDeadlineSeconds:*l podFailurePolicy:*PodFailurePolicy "
        "successPolicy:*SuccessPolicy backoffLimit:*i backoffLimitPerIndex:*i maxFailedIndexes:*i "
        "selector:*LabelSelector manualSelector:*b template:PodTemplateSpec! ttlSecondsAfterFinished:*i "
        "completionMode:*s suspend:*b podReplacementPolicy:*s managedBy:*s"
    ),
    "PodFailurePolicy": "rules:[PodFailurePolicyRule]!",
    "PodFailurePolicyRule": (
        "action! onExitCodes:*PodFailurePolicyOnExitCodesRequirement "
        "onPodConditions:[PodFailurePolicyOnPodConditionsPattern]"
    ),
    "PodFailurePolicyOnExitCodesRequirement": "containerName:*s operator! values:[i]!",
    "PodFailurePolicyOnPodConditionsPattern": "type! status!",
    "SuccessPolicy": "rules:[SuccessPolicyRule]!",
    "SuccessPolicyRule": "succeededIndexes:*s succeededCount:*i",
    "JobStatus": (
        "conditions:[JobCondition] startTime:*t completionTime:*t active:i succeeded:i failed:i "
        "terminating:*i completedIndexes failedIndexes:*s "
        "uncountedTerminatedPods:*UncountedTerminatedPods ready:*i"
    ),
    "JobCondition": "type! status! lastProbeTime:t lastTransitionTime:t reason message",
    "UncountedTerminatedPods": "succeeded:[s] failed:[s]",
    "CronJob": "kind apiVersion metadata:ObjectMeta spec:CronJobSpec status:CronJobStatus",
    "CronJobSpec": (
        "schedule! timeZone:*s startingDeadlineSeconds:*l concurrencyPolicy suspend:*b "
        "jobTemplate:JobTemplateSpec! successfulJobsHistoryLimit:*i failedJobsHistoryLimit:*i"
    ),
    "JobTemplateSpec": "metadata:ObjectMeta spec:JobSpec",
    "CronJobStatus": "active:[ObjectReference] lastScheduleTime:*t lastSuccessfulTime:*t",
    "ObjectReference": "kind namespace name uid apiVersion resourceVersion fieldPath",
    "DeploymentConfig": (
        "kind apiVersion metadata:ObjectMeta spec:DeploymentConfigSpec! status:DeploymentConfigStatus"
    ),
    "DeploymentConfigSpec": (
        "strategy:OSDeploymentStrategy! minReadySeconds:i triggers:[DeploymentTriggerPolicy]! replicas:i! "
        "revisionHistoryLimit:*i test:b! paused:b selector:{s} template:*PodTemplateSpec"
    ),
    "OSDeploymentStrategy": (
        "type customParams:*CustomDeploymentStrategyParams "
        "recreateParams:*RecreateDeploymentStrategyParams rollingParams:*RollingDeploymentStrategyParams "
        "resources:ResourceRequirements labels:{s} annotations:{s} activeDeadlineSeconds:*l"
    ),
    "CustomDeploymentStrategyParams": "image environment:[EnvVar] command:[s]",
    "RecreateDeploymentStrategyParams": (
        "timeoutSeconds:*l pre:*LifecycleHook mid:*LifecycleHook post:*LifecycleHook"
    ),
    "LifecycleHook": "failurePolicy! execNewPod:*ExecNewPodHook tagImages:[TagImageHook]",
    "ExecNewPodHook": "command:[s]! env:[EnvVar] containerName! volumes:[s]",
    "TagImageHook": "containerName! to:ObjectReference!",
    "RollingDeploymentStrategyParams": (
        "updatePeriodSeconds:*l intervalSeconds:*l timeoutSeconds:*l maxUnavailable:*ios maxSurge:*ios "
        "pre:*LifecycleHook post:*LifecycleHook"
    ),
    "DeploymentTriggerPolicy": "type imageChangeParams:*DeploymentTriggerImageChangeParams",
    "DeploymentTriggerImageChangeParams": (
        "automatic:b containerNames:[s] from:ObjectReference! lastTriggeredImage"
    ),
    "DeploymentConfigStatus": (
        "latestVersion:l! observedGeneration:l! replicas:i! updatedReplicas:i! availableReplicas:i! "
        "unavailableReplicas:i! details:*DeploymentDetails conditions:[OSDeploymentCondition] "
        "readyReplicas:i"
    ),
    "DeploymentDetails": "message causes:[DeploymentCause]!",
    "DeploymentCause": "type! imageTrigger:*DeploymentCauseImageTrigger",
    "DeploymentCauseImageTrigger": "from:ObjectReference!",
    "OSDeploymentCondition": "type! status! lastUpdateTime:t lastTransitionTime:t reason message",
    "List": "kind apiVersion metadata:ListMeta items:[r]!",
    "ListMeta": "selfLink resourceVersion continue remainingItemCount:*l shardInfo:*ShardInfo",
    "ShardInfo": "selector!",
}
# fmt: on

#: Top-level kinds Istio decodes into typed objects (matched by kind name only, as Istio does).
WORKLOAD_KINDS: Final = frozenset(
    {
        "Pod",
        "ReplicationController",
        "Deployment",
        "DaemonSet",
        "ReplicaSet",
        "StatefulSet",
        "Job",
        "CronJob",
        "DeploymentConfig",
        "List",
    }
)

_SCALARS: Final = frozenset({"s", "i", "l", "b", "q", "ios", "t", "r"})
_INT_RANGES: Final = {"i": (-(1 << 31), (1 << 31) - 1), "l": (-(1 << 63), (1 << 63) - 1)}


class KubeDecodeError(ValueError):
    """The data does not fit the Go types; the message follows ``encoding/json``'s wording."""


@dataclass(frozen=True, slots=True)
class _Kind:
    tag: str  # a scalar tag, "ptr", "list", "map" or "struct"
    elem: _Kind | None = None
    struct: str = ""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: _Kind
    omitempty: bool
    omitzero: bool


def _parse_kind(text: str) -> _Kind:
    if text.startswith("*"):
        return _Kind("ptr", _parse_kind(text[1:]))
    if text.startswith("[") and text.endswith("]"):
        return _Kind("list", _parse_kind(text[1:-1]))
    if text.startswith("{") and text.endswith("}"):
        return _Kind("map", _parse_kind(text[1:-1]))
    if text in _SCALARS:
        return _Kind(text)
    if text not in _SCHEMA:
        raise AssertionError(f"kubetypes schema: unknown type {text!r}")
    return _Kind("struct", struct=text)


def _parse_field(spec: str) -> _Field:
    flags = ""
    while spec[-1] in "!~":
        flags += spec[-1]
        spec = spec[:-1]
    name, _, kind = spec.partition(":")
    return _Field(name, _parse_kind(kind or "s"), "!" not in flags, "~" in flags)


_STRUCTS: Final[dict[str, tuple[_Field, ...]]] = {
    name: tuple(_parse_field(spec) for spec in specs.split()) for name, specs in _SCHEMA.items()
}

# ----------------------------------------------------------------------------------------------------------
# Decode + encode


class _Absent:
    __slots__ = ()


_ABSENT: Final = _Absent()


def _go_type(kind: _Kind) -> str:
    """The Go type as encoding/json names it in errors (package qualifiers are all ``v1`` here)."""
    tag = kind.tag
    if tag == "ptr":
        assert kind.elem is not None
        return "*" + _go_type(kind.elem)
    if tag == "list":
        assert kind.elem is not None
        return "[]" + _go_type(kind.elem)
    if tag == "map":
        assert kind.elem is not None
        return "map[string]" + _go_type(kind.elem)
    if tag == "struct":
        return "v1." + kind.struct.removeprefix("OS")
    return {
        "s": "string",
        "i": "int32",
        "l": "int64",
        "b": "bool",
        "q": "resource.Quantity",
        "ios": "intstr.IntOrString",
        "t": "v1.Time",
        "r": "runtime.RawExtension",
    }[tag]


def _json_kind(value: Any, literal: bool = False) -> str:
    """The JSON value as encoding/json describes it; numbers carry their text only for integer targets."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        if not literal:
            return "number"
        return "number " + (gojson.marshal(value) if math.isfinite(value) else str(value))
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class _Where:
    struct: str
    path: str

    def error(self, value: Any, kind: _Kind) -> KubeDecodeError:
        literal = kind.tag in ("i", "l") and isinstance(value, int | float) and not isinstance(value, bool)
        what = _json_kind(value, literal)
        field = f"{self.struct}.{self.path}"
        return KubeDecodeError(f"json: cannot unmarshal {what} into Go struct field {field} of type {_go_type(kind)}")


def _plain(value: Any) -> Any:
    """A YAML-decoded value as it reads after sigs.k8s.io/yaml's conversion to JSON (and back)."""
    if isinstance(value, Mapping):
        return {_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        # Go writes an integral float64 without a fraction, and that reads back as an integer.
        return int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float) and math.isfinite(key) and key == int(key):
        return str(int(key))
    return str(key)


def _int(value: Any, kind: _Kind, where: _Where) -> int:
    if isinstance(value, bool):
        raise where.error(value, kind)
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        value = int(value)
    if not isinstance(value, int):
        raise where.error(value, kind)
    low, high = _INT_RANGES["l" if kind.tag == "l" else "i"]
    if not low <= value <= high:
        raise where.error(value, kind)
    return value


_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))\Z"
)


def _time(value: str, where: _Where) -> str | None:
    """``metav1.Time``: parsed as RFC 3339, written in UTC to the second; the zero time writes ``null``."""
    m = _RFC3339.match(value)
    if m is None:
        raise KubeDecodeError(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse')
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as err:
        raise KubeDecodeError(f'parsing time "{value}": {err}') from None
    if m.group(9):
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        moment -= offset if m.group(9) == "+" else -offset
    if moment == datetime(1, 1, 1, tzinfo=UTC):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _decode(kind: _Kind, value: Any, where: _Where) -> Any:
    """The encoded (JSON) form of what decoding ``value`` into ``kind`` leaves; ``_ABSENT`` = missing key.

    nil pointers, slices and maps come back as ``None``; every other kind comes back as its Go zero value.
    """
    tag = kind.tag
    if tag == "struct":
        if value is _ABSENT or value is None:
            value = {}
        elif not isinstance(value, Mapping):
            raise where.error(value, kind)
        return _decode_struct(kind.struct, value, where.path)
    if tag == "ptr":
        if value is _ABSENT or value is None:
            return None
        assert kind.elem is not None
        return _decode(kind.elem, value, where)
    if tag == "list":
        if value is _ABSENT or value is None:
            return None
        if not isinstance(value, list | tuple):
            raise where.error(value, kind)
        assert kind.elem is not None
        elem = kind.elem
        return [_decode(elem, item, where) for item in value]
    if tag == "map":
        if value is _ABSENT or value is None:
            return None
        if not isinstance(value, Mapping):
            raise where.error(value, kind)
        assert kind.elem is not None
        elem = kind.elem
        items = {_key(k): v for k, v in value.items()}
        # encoding/json writes map keys sorted; keeping them sorted here makes every writer agree.
        return {k: _decode(elem, items[k], where) for k in sorted(items)}
    if value is _ABSENT:
        value = None
    if tag == "s":
        if value is None:
            return ""
        if isinstance(value, datetime | date):
            return value.isoformat()
        if not isinstance(value, str):
            raise where.error(value, kind)
        return value
    if tag in ("i", "l"):
        return 0 if value is None else _int(value, kind, where)
    if tag == "b":
        if value is None:
            return False
        if not isinstance(value, bool):
            raise where.error(value, kind)
        return value
    if tag == "q":
        try:
            return canonical_quantity(value)
        except QuantityError as err:
            raise KubeDecodeError(str(err)) from None
    if tag == "ios":
        if value is None:
            return 0
        if isinstance(value, str):
            return value
        return _int(value, _Kind("i"), where)
    if tag == "t":
        if value is None:
            return None
        if isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        if not isinstance(value, str):
            raise where.error(value, kind)
        return _time(value, where)
    assert tag == "r"
    return _plain(value)


def _is_empty(kind: _Kind, value: Any) -> bool:
    """encoding/json's omitempty test; structs (quantities, times, int-or-strings too) are never empty."""
    tag = kind.tag
    if tag in ("ptr", "list", "map"):
        return value is None or (tag != "ptr" and len(value) == 0)
    if tag == "s":
        return bool(value == "")
    if tag in ("i", "l"):
        return bool(value == 0)
    if tag == "b":
        return value is False
    return False


def _is_zero(kind: _Kind, value: Any) -> bool:
    """encoding/json's omitzero test (only used for times in these types)."""
    tag = kind.tag
    if tag == "t":
        return value is None
    if tag == "struct":
        fields = _STRUCTS[kind.struct]
        return all(f.name not in value or _is_zero(f.kind, value[f.name]) for f in fields)
    if tag in ("ptr", "list", "map"):
        return value is None
    if tag == "ios":
        return not isinstance(value, str) and value == 0
    if tag == "q":
        return bool(value == "0")
    return _is_empty(kind, value)


def _decode_struct(name: str, value: Mapping[str, Any], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in _STRUCTS[name]:
        raw = value.get(field.name, _ABSENT)
        where = _Where(name.removeprefix("OS"), f"{path}.{field.name}" if path else field.name)
        decoded = _decode(field.kind, raw, where)
        if field.omitempty and _is_empty(field.kind, decoded):
            continue
        if field.omitzero and _is_zero(field.kind, decoded):
            continue
        out[field.name] = decoded
    return out


def normalize_as(type_name: str, value: Any) -> Any:
    """``value`` decoded into the named Go struct of the schema and encoded again (a new object).

    Raises :class:`KubeDecodeError` where Go's decoder fails (a value of the wrong JSON type, an integer out
    of range, an invalid quantity or time).
    """
    return _decode(_Kind("struct", struct=type_name), value, _Where(type_name, ""))


def normalize(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What Istio's typed decode and ``json.Marshal`` make of a manifest object (returns a new dict).

    Objects of a workload kind (matched by ``kind`` alone) go through their Go type; a ``List`` keeps its
    items as raw JSON except those of a workload kind, which are normalised too (Istio re-encodes them
    typed). Any other object is returned as its plain JSON form.
    """
    kind = obj.get("kind")
    if not isinstance(kind, str) or kind not in WORKLOAD_KINDS:
        return dict(_plain(obj))
    result: dict[str, Any] = normalize_as(kind, obj)
    if kind == "List" and result.get("items"):
        result["items"] = [
            normalize(item)
            if isinstance(item, Mapping) and isinstance(item.get("kind"), str) and item["kind"] in WORKLOAD_KINDS
            else item
            for item in result["items"]
        ]
    return result


# ----------------------------------------------------------------------------------------------------------
# JSON text


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, Mapping):
        out.append("{")
        first = True
        for k, v in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(gojson.marshal(str(k)))
            out.append(":")
            _write(v, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _write(v, out)
        out.append("]")
    else:
        out.append(gojson.marshal(value))


def to_json(obj: Any) -> str:
    """Compact JSON of a normalised object, keys in the order given (struct order; maps already sorted).

    A workload object that has not been normalised is normalised first; strings and numbers are written with
    Go's escaping and number formatting.
    """
    if isinstance(obj, Mapping) and obj.get("kind") in WORKLOAD_KINDS:
        obj = normalize(obj)
    out: list[str] = []
    _write(obj, out)
    return "".join(out)


def container_json(container: Mapping[str, Any]) -> str:
    """``json.Marshal`` of a ``corev1.Container`` made from ``container`` (``proxy.istio.io/overrides``)."""
    out: list[str] = []
    _write(normalize_as("Container", container), out)
    return "".join(out)
