#!/usr/bin/env bash
# devstack plugin of Qinling, the Function as a Service of OpenStack.
#
# enable_plugin qinling https://opendev.org/openstack/qinling
#
# See devstack/README.rst for the settings.

# Save trace setting
XTRACE=$(set +o | grep xtrace)
set -o xtrace


function install_qinling {
    if [ "$QINLING_ORCHESTRATOR" == "local" ]; then
        # Local workers run in bubblewrap sandboxes; nodejs runs the
        # Node.js runtime.
        install_package bubblewrap nodejs
    fi
    setup_develop $QINLING_DIR
}


function install_qinlingclient {
    if use_library_from_git "python-qinlingclient"; then
        git_clone_by_name "python-qinlingclient"
        setup_dev_lib "python-qinlingclient"
    else
        pip_install_gr python-qinlingclient
    fi
}


function create_qinling_accounts {
    create_service_user "qinling" "admin"

    local qinling_service
    qinling_service=$(get_or_create_service "qinling" \
        "function-engine" "Function Service")
    local qinling_url
    qinling_url="$QINLING_SERVICE_PROTOCOL://$QINLING_SERVICE_HOST:$QINLING_SERVICE_PORT"
    get_or_create_endpoint $qinling_service \
        "$REGION_NAME" "$qinling_url" "$qinling_url" "$qinling_url"

    # The demo project's users run functions as members.
    get_or_add_user_project_role "member" "demo" "demo"
}


function configure_k8s_certificates {
    # The engine authenticates to the Kubernetes API with a client
    # certificate of the cluster's CA, in QINLING_K8S_PKI_DIR.
    sudo install -d -o $STACK_USER -m 700 $QINLING_K8S_PKI_DIR
    if [ -f /etc/kubernetes/pki/ca.crt ]; then
        sudo install -o $STACK_USER -m 600 /etc/kubernetes/pki/ca.crt \
            $QINLING_K8S_PKI_DIR/ca.crt
    fi
}


function configure_qinling {
    sudo install -d -o $STACK_USER -m 755 $QINLING_CONF_DIR
    sudo install -d -o $STACK_USER -m 755 $QINLING_STATE_PATH
    sudo install -d -o $STACK_USER -m 755 $QINLING_FUNCTION_STORAGE_DIR

    rm -f $QINLING_CONF_FILE
    (cd $QINLING_DIR && oslo-config-generator \
        --config-file tools/config/qinling-config-generator.conf \
        --output-file $QINLING_CONF_FILE)
    (cd $QINLING_DIR && oslopolicy-sample-generator \
        --config-file tools/config/qinling-policy-generator.conf \
        --output-file $QINLING_POLICY_FILE)

    iniset $QINLING_CONF_FILE DEFAULT debug $QINLING_DEBUG
    iniset $QINLING_CONF_FILE DEFAULT state_path $QINLING_STATE_PATH
    iniset $QINLING_CONF_FILE oslo_policy policy_file $QINLING_POLICY_FILE
    iniset $QINLING_CONF_FILE api host $QINLING_SERVICE_HOST
    iniset $QINLING_CONF_FILE api port $QINLING_SERVICE_PORT
    iniset $QINLING_CONF_FILE pecan auth_enable True
    iniset $QINLING_CONF_FILE storage file_system_dir \
        $QINLING_FUNCTION_STORAGE_DIR
    iniset $QINLING_CONF_FILE database connection \
        $(database_connection_url qinling)
    iniset_rpc_backend qinling $QINLING_CONF_FILE DEFAULT
    iniset $QINLING_CONF_FILE oslo_messaging_notifications driver \
        messagingv2

    configure_keystone_authtoken_middleware $QINLING_CONF_FILE qinling
    iniset $QINLING_CONF_FILE keystone_authtoken www_authenticate_uri \
        $KEYSTONE_SERVICE_URI
    iniset $QINLING_CONF_FILE keystone_authtoken region_name "$REGION_NAME"

    iniset $QINLING_CONF_FILE engine orchestrator $QINLING_ORCHESTRATOR
    if [ "$QINLING_ORCHESTRATOR" == "kubernetes" ]; then
        iniset $QINLING_CONF_FILE kubernetes namespace \
            $QINLING_K8S_NAMESPACE
        iniset $QINLING_CONF_FILE kubernetes replicas $QINLING_K8S_REPLICAS
        iniset $QINLING_CONF_FILE kubernetes kube_host $QINLING_K8S_API_HOST
        if [ "$QINLING_K8S_APISERVER_TLS" == "True" ]; then
            configure_k8s_certificates
            iniset $QINLING_CONF_FILE kubernetes use_api_certificate True
            iniset $QINLING_CONF_FILE kubernetes ssl_ca_cert \
                $QINLING_K8S_PKI_DIR/ca.crt
            iniset $QINLING_CONF_FILE kubernetes cert_file \
                $QINLING_K8S_PKI_DIR/qinling.crt
            iniset $QINLING_CONF_FILE kubernetes key_file \
                $QINLING_K8S_PKI_DIR/qinling.key
        else
            iniset $QINLING_CONF_FILE kubernetes use_api_certificate False
        fi
    else
        iniset $QINLING_CONF_FILE local pool_size $QINLING_LOCAL_POOL_SIZE
    fi
}


function init_qinling {
    recreate_database qinling utf8
    $QINLING_BIN_DIR/qinling-db-manage --config-file $QINLING_CONF_FILE \
        upgrade head
}


function start_qinling {
    run_process qinling-engine \
        "$QINLING_BIN_DIR/qinling-engine --config-file $QINLING_CONF_FILE"
    run_process qinling-api \
        "$QINLING_BIN_DIR/qinling-api --config-file $QINLING_CONF_FILE"

    local url
    url="$QINLING_SERVICE_PROTOCOL://$QINLING_SERVICE_HOST:$QINLING_SERVICE_PORT"
    if ! wait_for_service $SERVICE_TIMEOUT $url/healthcheck; then
        die $LINENO "qinling-api did not start"
    fi
}


function register_qinling_runtimes {
    # The runtimes every project can use; as the admin, who alone may.
    local runtimes="python3=$QINLING_PYTHON_RUNTIME_IMAGE"
    runtimes+=" nodejs=$QINLING_NODEJS_RUNTIME_IMAGE"
    local runtime name image
    for runtime in $runtimes; do
        name=${runtime%%=*}
        image=${runtime#*=}
        if ! openstack --os-cloud devstack-admin runtime list \
                -f value -c name | grep -qx "$name"; then
            openstack --os-cloud devstack-admin runtime create \
                --name "$name" "$image"
        fi
    done
}


function stop_qinling {
    local serv
    for serv in qinling-api qinling-engine; do
        stop_process $serv
    done
}


function cleanup_qinling {
    sudo rm -rf $QINLING_CONF_DIR $QINLING_STATE_PATH \
        $QINLING_FUNCTION_STORAGE_DIR
}


if is_service_enabled qinling-api qinling-engine; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing Qinling"
        install_qinling
        install_qinlingclient
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring Qinling"
        if is_service_enabled key; then
            create_qinling_accounts
        fi
        configure_qinling
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initializing and starting Qinling"
        init_qinling
        start_qinling
        register_qinling_runtimes
    fi

    if [[ "$1" == "unstack" ]]; then
        echo_summary "Stopping Qinling"
        stop_qinling
    fi

    if [[ "$1" == "clean" ]]; then
        echo_summary "Cleaning Qinling"
        cleanup_qinling
    fi
fi

# Restore xtrace
$XTRACE
