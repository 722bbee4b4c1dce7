from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IDLE: _ClassVar[TaskState]
    RUNNING: _ClassVar[TaskState]
    DONE: _ClassVar[TaskState]
    INVALID_STATE: _ClassVar[TaskState]
    ERROR: _ClassVar[TaskState]

class ConfigStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONFIG_STATUS_OK: _ClassVar[ConfigStatus]
    CONFIG_STATUS_EXPIRED: _ClassVar[ConfigStatus]
IDLE: TaskState
RUNNING: TaskState
DONE: TaskState
INVALID_STATE: TaskState
ERROR: TaskState
CONFIG_STATUS_OK: ConfigStatus
CONFIG_STATUS_EXPIRED: ConfigStatus

class ConfigMetas(_message.Message):
    __slots__ = ("roots", "timestamp", "snapshot", "topTargets", "delegatedTargets")
    ROOTS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    TOPTARGETS_FIELD_NUMBER: _ClassVar[int]
    DELEGATEDTARGETS_FIELD_NUMBER: _ClassVar[int]
    roots: _containers.RepeatedCompositeFieldContainer[TopMeta]
    timestamp: TopMeta
    snapshot: TopMeta
    topTargets: TopMeta
    delegatedTargets: _containers.RepeatedCompositeFieldContainer[DelegatedMeta]
    def __init__(self, roots: _Optional[_Iterable[_Union[TopMeta, _Mapping]]] = ..., timestamp: _Optional[_Union[TopMeta, _Mapping]] = ..., snapshot: _Optional[_Union[TopMeta, _Mapping]] = ..., topTargets: _Optional[_Union[TopMeta, _Mapping]] = ..., delegatedTargets: _Optional[_Iterable[_Union[DelegatedMeta, _Mapping]]] = ...) -> None: ...

class DirectorMetas(_message.Message):
    __slots__ = ("roots", "timestamp", "snapshot", "targets")
    ROOTS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    roots: _containers.RepeatedCompositeFieldContainer[TopMeta]
    timestamp: TopMeta
    snapshot: TopMeta
    targets: TopMeta
    def __init__(self, roots: _Optional[_Iterable[_Union[TopMeta, _Mapping]]] = ..., timestamp: _Optional[_Union[TopMeta, _Mapping]] = ..., snapshot: _Optional[_Union[TopMeta, _Mapping]] = ..., targets: _Optional[_Union[TopMeta, _Mapping]] = ...) -> None: ...

class DelegatedMeta(_message.Message):
    __slots__ = ("version", "role", "raw")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    version: int
    role: str
    raw: bytes
    def __init__(self, version: _Optional[int] = ..., role: _Optional[str] = ..., raw: _Optional[bytes] = ...) -> None: ...

class TopMeta(_message.Message):
    __slots__ = ("version", "raw")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    version: int
    raw: bytes
    def __init__(self, version: _Optional[int] = ..., raw: _Optional[bytes] = ...) -> None: ...

class File(_message.Message):
    __slots__ = ("path", "raw")
    PATH_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    path: str
    raw: bytes
    def __init__(self, path: _Optional[str] = ..., raw: _Optional[bytes] = ...) -> None: ...

class LatestConfigsRequest(_message.Message):
    __slots__ = ("hostname", "agentVersion", "current_config_snapshot_version", "current_config_root_version", "current_director_root_version", "products", "new_products", "active_clients", "backend_client_state", "has_error", "error", "trace_agent_env", "org_uuid", "tags", "agent_uuid")
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    AGENTVERSION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_CONFIG_SNAPSHOT_VERSION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_CONFIG_ROOT_VERSION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_DIRECTOR_ROOT_VERSION_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    NEW_PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CLIENTS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_CLIENT_STATE_FIELD_NUMBER: _ClassVar[int]
    HAS_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TRACE_AGENT_ENV_FIELD_NUMBER: _ClassVar[int]
    ORG_UUID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    AGENT_UUID_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    agentVersion: str
    current_config_snapshot_version: int
    current_config_root_version: int
    current_director_root_version: int
    products: _containers.RepeatedScalarFieldContainer[str]
    new_products: _containers.RepeatedScalarFieldContainer[str]
    active_clients: _containers.RepeatedCompositeFieldContainer[Client]
    backend_client_state: bytes
    has_error: bool
    error: str
    trace_agent_env: str
    org_uuid: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    agent_uuid: str
    def __init__(self, hostname: _Optional[str] = ..., agentVersion: _Optional[str] = ..., current_config_snapshot_version: _Optional[int] = ..., current_config_root_version: _Optional[int] = ..., current_director_root_version: _Optional[int] = ..., products: _Optional[_Iterable[str]] = ..., new_products: _Optional[_Iterable[str]] = ..., active_clients: _Optional[_Iterable[_Union[Client, _Mapping]]] = ..., backend_client_state: _Optional[bytes] = ..., has_error: _Optional[bool] = ..., error: _Optional[str] = ..., trace_agent_env: _Optional[str] = ..., org_uuid: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., agent_uuid: _Optional[str] = ...) -> None: ...

class LatestConfigsResponse(_message.Message):
    __slots__ = ("config_metas", "director_metas", "target_files")
    CONFIG_METAS_FIELD_NUMBER: _ClassVar[int]
    DIRECTOR_METAS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FILES_FIELD_NUMBER: _ClassVar[int]
    config_metas: ConfigMetas
    director_metas: DirectorMetas
    target_files: _containers.RepeatedCompositeFieldContainer[File]
    def __init__(self, config_metas: _Optional[_Union[ConfigMetas, _Mapping]] = ..., director_metas: _Optional[_Union[DirectorMetas, _Mapping]] = ..., target_files: _Optional[_Iterable[_Union[File, _Mapping]]] = ...) -> None: ...

class OrgDataResponse(_message.Message):
    __slots__ = ("uuid",)
    UUID_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    def __init__(self, uuid: _Optional[str] = ...) -> None: ...

class OrgStatusResponse(_message.Message):
    __slots__ = ("enabled", "authorized")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZED_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    authorized: bool
    def __init__(self, enabled: _Optional[bool] = ..., authorized: _Optional[bool] = ...) -> None: ...

class Client(_message.Message):
    __slots__ = ("state", "id", "products", "is_tracer", "client_tracer", "is_agent", "client_agent", "last_seen", "capabilities", "is_updater", "client_updater")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    IS_TRACER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TRACER_FIELD_NUMBER: _ClassVar[int]
    IS_AGENT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_AGENT_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    IS_UPDATER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_UPDATER_FIELD_NUMBER: _ClassVar[int]
    state: ClientState
    id: str
    products: _containers.RepeatedScalarFieldContainer[str]
    is_tracer: bool
    client_tracer: ClientTracer
    is_agent: bool
    client_agent: ClientAgent
    last_seen: int
    capabilities: bytes
    is_updater: bool
    client_updater: ClientUpdater
    def __init__(self, state: _Optional[_Union[ClientState, _Mapping]] = ..., id: _Optional[str] = ..., products: _Optional[_Iterable[str]] = ..., is_tracer: _Optional[bool] = ..., client_tracer: _Optional[_Union[ClientTracer, _Mapping]] = ..., is_agent: _Optional[bool] = ..., client_agent: _Optional[_Union[ClientAgent, _Mapping]] = ..., last_seen: _Optional[int] = ..., capabilities: _Optional[bytes] = ..., is_updater: _Optional[bool] = ..., client_updater: _Optional[_Union[ClientUpdater, _Mapping]] = ...) -> None: ...

class ClientTracer(_message.Message):
    __slots__ = ("runtime_id", "language", "tracer_version", "service", "extra_services", "env", "app_version", "tags", "process_tags", "container_tags")
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TRACER_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    EXTRA_SERVICES_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    APP_VERSION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PROCESS_TAGS_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_TAGS_FIELD_NUMBER: _ClassVar[int]
    runtime_id: str
    language: str
    tracer_version: str
    service: str
    extra_services: _containers.RepeatedScalarFieldContainer[str]
    env: str
    app_version: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    process_tags: _containers.RepeatedScalarFieldContainer[str]
    container_tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, runtime_id: _Optional[str] = ..., language: _Optional[str] = ..., tracer_version: _Optional[str] = ..., service: _Optional[str] = ..., extra_services: _Optional[_Iterable[str]] = ..., env: _Optional[str] = ..., app_version: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., process_tags: _Optional[_Iterable[str]] = ..., container_tags: _Optional[_Iterable[str]] = ...) -> None: ...

class ClientAgent(_message.Message):
    __slots__ = ("name", "version", "cluster_name", "cluster_id", "cws_workloads")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    CWS_WORKLOADS_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    cluster_name: str
    cluster_id: str
    cws_workloads: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., cluster_name: _Optional[str] = ..., cluster_id: _Optional[str] = ..., cws_workloads: _Optional[_Iterable[str]] = ...) -> None: ...

class ClientUpdater(_message.Message):
    __slots__ = ("tags", "packages", "available_disk_space")
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_DISK_SPACE_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedScalarFieldContainer[str]
    packages: _containers.RepeatedCompositeFieldContainer[PackageState]
    available_disk_space: int
    def __init__(self, tags: _Optional[_Iterable[str]] = ..., packages: _Optional[_Iterable[_Union[PackageState, _Mapping]]] = ..., available_disk_space: _Optional[int] = ...) -> None: ...

class PackageState(_message.Message):
    __slots__ = ("package", "stable_version", "experiment_version", "task", "stable_config_version", "experiment_config_version")
    PACKAGE_FIELD_NUMBER: _ClassVar[int]
    STABLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    STABLE_CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    package: str
    stable_version: str
    experiment_version: str
    task: PackageStateTask
    stable_config_version: str
    experiment_config_version: str
    def __init__(self, package: _Optional[str] = ..., stable_version: _Optional[str] = ..., experiment_version: _Optional[str] = ..., task: _Optional[_Union[PackageStateTask, _Mapping]] = ..., stable_config_version: _Optional[str] = ..., experiment_config_version: _Optional[str] = ...) -> None: ...

class PackageStateTask(_message.Message):
    __slots__ = ("id", "state", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: TaskState
    error: TaskError
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ..., error: _Optional[_Union[TaskError, _Mapping]] = ...) -> None: ...

class TaskError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class ConfigState(_message.Message):
    __slots__ = ("id", "version", "product", "apply_state", "apply_error")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    APPLY_STATE_FIELD_NUMBER: _ClassVar[int]
    APPLY_ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    product: str
    apply_state: int
    apply_error: str
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., product: _Optional[str] = ..., apply_state: _Optional[int] = ..., apply_error: _Optional[str] = ...) -> None: ...

class ClientState(_message.Message):
    __slots__ = ("root_version", "targets_version", "config_states", "has_error", "error", "backend_client_state")
    ROOT_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGETS_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_STATES_FIELD_NUMBER: _ClassVar[int]
    HAS_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    BACKEND_CLIENT_STATE_FIELD_NUMBER: _ClassVar[int]
    root_version: int
    targets_version: int
    config_states: _containers.RepeatedCompositeFieldContainer[ConfigState]
    has_error: bool
    error: str
    backend_client_state: bytes
    def __init__(self, root_version: _Optional[int] = ..., targets_version: _Optional[int] = ..., config_states: _Optional[_Iterable[_Union[ConfigState, _Mapping]]] = ..., has_error: _Optional[bool] = ..., error: _Optional[str] = ..., backend_client_state: _Optional[bytes] = ...) -> None: ...

class TargetFileHash(_message.Message):
    __slots__ = ("algorithm", "hash")
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    algorithm: str
    hash: str
    def __init__(self, algorithm: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class TargetFileMeta(_message.Message):
    __slots__ = ("path", "length", "hashes")
    PATH_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    path: str
    length: int
    hashes: _containers.RepeatedCompositeFieldContainer[TargetFileHash]
    def __init__(self, path: _Optional[str] = ..., length: _Optional[int] = ..., hashes: _Optional[_Iterable[_Union[TargetFileHash, _Mapping]]] = ...) -> None: ...

class ClientGetConfigsRequest(_message.Message):
    __slots__ = ("client", "cached_target_files")
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    CACHED_TARGET_FILES_FIELD_NUMBER: _ClassVar[int]
    client: Client
    cached_target_files: _containers.RepeatedCompositeFieldContainer[TargetFileMeta]
    def __init__(self, client: _Optional[_Union[Client, _Mapping]] = ..., cached_target_files: _Optional[_Iterable[_Union[TargetFileMeta, _Mapping]]] = ...) -> None: ...

class ClientGetConfigsResponse(_message.Message):
    __slots__ = ("roots", "targets", "target_files", "client_configs", "config_status")
    ROOTS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FILES_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CONFIGS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_STATUS_FIELD_NUMBER: _ClassVar[int]
    roots: _containers.RepeatedScalarFieldContainer[bytes]
    targets: bytes
    target_files: _containers.RepeatedCompositeFieldContainer[File]
    client_configs: _containers.RepeatedScalarFieldContainer[str]
    config_status: ConfigStatus
    def __init__(self, roots: _Optional[_Iterable[bytes]] = ..., targets: _Optional[bytes] = ..., target_files: _Optional[_Iterable[_Union[File, _Mapping]]] = ..., client_configs: _Optional[_Iterable[str]] = ..., config_status: _Optional[_Union[ConfigStatus, str]] = ...) -> None: ...

class FileMetaState(_message.Message):
    __slots__ = ("version", "hash")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    version: int
    hash: str
    def __init__(self, version: _Optional[int] = ..., hash: _Optional[str] = ...) -> None: ...

class GetStateConfigResponse(_message.Message):
    __slots__ = ("config_state", "director_state", "target_filenames", "active_clients")
    class ConfigStateEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FileMetaState
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FileMetaState, _Mapping]] = ...) -> None: ...
    class DirectorStateEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FileMetaState
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FileMetaState, _Mapping]] = ...) -> None: ...
    class TargetFilenamesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONFIG_STATE_FIELD_NUMBER: _ClassVar[int]
    DIRECTOR_STATE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FILENAMES_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CLIENTS_FIELD_NUMBER: _ClassVar[int]
    config_state: _containers.MessageMap[str, FileMetaState]
    director_state: _containers.MessageMap[str, FileMetaState]
    target_filenames: _containers.ScalarMap[str, str]
    active_clients: _containers.RepeatedCompositeFieldContainer[Client]
    def __init__(self, config_state: _Optional[_Mapping[str, FileMetaState]] = ..., director_state: _Optional[_Mapping[str, FileMetaState]] = ..., target_filenames: _Optional[_Mapping[str, str]] = ..., active_clients: _Optional[_Iterable[_Union[Client, _Mapping]]] = ...) -> None: ...

class ResetStateConfigResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TracerPredicateV1(_message.Message):
    __slots__ = ("clientID", "service", "environment", "appVersion", "tracerVersion", "language", "runtimeID")
    CLIENTID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    APPVERSION_FIELD_NUMBER: _ClassVar[int]
    TRACERVERSION_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    RUNTIMEID_FIELD_NUMBER: _ClassVar[int]
    clientID: str
    service: str
    environment: str
    appVersion: str
    tracerVersion: str
    language: str
    runtimeID: str
    def __init__(self, clientID: _Optional[str] = ..., service: _Optional[str] = ..., environment: _Optional[str] = ..., appVersion: _Optional[str] = ..., tracerVersion: _Optional[str] = ..., language: _Optional[str] = ..., runtimeID: _Optional[str] = ...) -> None: ...

class TracerPredicates(_message.Message):
    __slots__ = ("tracer_predicates_v1",)
    TRACER_PREDICATES_V1_FIELD_NUMBER: _ClassVar[int]
    tracer_predicates_v1: _containers.RepeatedCompositeFieldContainer[TracerPredicateV1]
    def __init__(self, tracer_predicates_v1: _Optional[_Iterable[_Union[TracerPredicateV1, _Mapping]]] = ...) -> None: ...
