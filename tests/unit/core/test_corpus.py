"""Every real CronJob of the corpus (tests/corpus.py: where it is) gets a correct next fire time.

DESIGN.md §1: a CronJob manifest becomes a RerunnableJob by changing apiVersion and
kind only, and must get a correct `nextScheduleTime`. The expected times below were
worked out by hand from each schedule, not with the code under test.

The instant is 2026-11-22T10:17:00Z, a Sunday; in November Europe/Dublin is on
GMT (+00:00), America/Detroit on EST (-05:00), and Asia/Tokyo is always +09:00.
All 45 schedules are literal cron strings (no templating placeholders); each file
holds one CronJob document.
"""

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from rerunnable.core.cron import load_time_zone, next_fire_time, parse_cron
from tests.corpus import require_cronjobs

AFTER = datetime(2026, 11, 22, 10, 17, tzinfo=UTC)

# file -> (schedule as written, next fire time after AFTER, in the CronJob's zone)
EXPECTED: dict[str, tuple[str, str]] = {
    "01-kubernetes-sigs-descheduler-descheduler-cronjob.yaml": (
        "*/2 * * * *",
        "2026-11-22T10:18:00+00:00",
    ),
    "02-ContainerSolutions-kubernetes-examples-cronjob-simple.yaml": (
        "* * * * *",
        "2026-11-22T10:18:00+00:00",
    ),
    "03-devopstales-kube-dump-kube-dump.yaml": (
        "0 2 * * *",
        "2026-11-23T02:00:00+00:00",
    ),
    "04-fluxcd-community-github-app-secret-github-app-secret.yaml": (
        "*/30 * * * *",
        "2026-11-22T10:30:00+00:00",
    ),
    "05-kubernetes-website-hello.yaml": (
        "* * * * *",
        "2026-11-22T10:18:00+00:00",
    ),
    "06-kosli-dev-cli-merkely-reporter.yaml": (
        "*/5 * * * *",
        "2026-11-22T10:20:00+00:00",
    ),
    "07-StevenACoffman-kube-deploy-cleaner-kube-deploy-cleaner.yaml": (
        "*/5 * * * *",
        "2026-11-22T10:20:00+00:00",
    ),
    # Unquoted in the YAML (`schedule: 0 * * * *`); still a string.
    "08-adfinis-openbao-snapshot-agent-bao-snapshot.yaml": (
        "0 * * * *",
        "2026-11-22T11:00:00+00:00",
    ),
    "09-kubernetes-sigs-kueue-sample-cronjob.yaml": (
        "* * * * *",
        "2026-11-22T10:18:00+00:00",
    ),
    "10-StatCan-namespace-cleaner-namespace-cleaner.yaml": (
        "0 0 * * *",
        "2026-11-23T00:00:00+00:00",
    ),
    # The 1st and 15th are past; the 28th is next.
    "11-CCI-MOC-openstack-billing-from-db-invoicing-openstack-biweekly.yaml": (
        "0 7 1,15,28 * *",
        "2026-11-28T07:00:00+00:00",
    ),
    "12-albertofilice-openshift-etcd-backup-openshift-backup-master-0.yaml": (
        "0 6 * * *",
        "2026-11-23T06:00:00+00:00",
    ),
    # Weekdays only, and it is Sunday: Monday's first half hour of office time.
    "13-goto-opensource-k8s-node-drainer-k8s-node-drainer.yaml": (
        "*/30 6-14 * * 1-5",
        "2026-11-23T06:00:00+00:00",
    ),
    "14-Hsn723-ct-monitor-ct-monitor.yaml": (
        "0 * * * *",
        "2026-11-22T11:00:00+00:00",
    ),
    "15-mbologna-trakt-toggl-sync-trakt-toggl-sync.yaml": (
        "20 * * * *",
        "2026-11-22T10:20:00+00:00",
    ),
    "16-wagov-dtt-wa.gov.au_harvest-consultations-harvest-consultations.yaml": (
        "0 18 * * *",
        "2026-11-22T18:00:00+00:00",
    ),
    "17-wagov-dtt-wa.gov.au_harvest-consultations-harvest-cronjob.yaml": (
        "@hourly",
        "2026-11-22T11:00:00+00:00",
    ),
    "18-CalebSargeant-deskbird-booking-deskbird-booking.yaml": (
        "0 8 * * 1,4",
        "2026-11-23T08:00:00+00:00",
    ),
    "19-konkele-infra-config-backup-infra-config-backup.yaml": (
        "0 4 * * *",
        "2026-11-23T04:00:00+00:00",
    ),
    # `schedule` comes last in this spec, after the jobTemplate.
    "20-headcr4sh-public-ip-sync-google-clouddns-my-dyndns.yaml": (
        "*/10 * * * *",
        "2026-11-22T10:20:00+00:00",
    ),
    "21-ytzcom-geoip-geoip-updater.yaml": (
        "0 2 * * *",
        "2026-11-23T02:00:00+00:00",
    ),
    "22-ytzcom-geoip-geoip-updater-go.yaml": (
        "0 2 * * *",
        "2026-11-23T02:00:00+00:00",
    ),
    # timeZone Europe/Dublin: GMT in November.
    "23-k8tz-k8tz-hello.yaml": (
        "* * * * *",
        "2026-11-22T10:18:00+00:00",
    ),
    # Even hours at :05; 10:05 has passed.
    "24-autumnfound-eclipsefdn-github-sync-eclipsefdn-github-sync.yaml": (
        "5 */2 * * *",
        "2026-11-22T12:05:00+00:00",
    ),
    "25-ome-idr-redmine-tracker-idr-redmine-email.yaml": (
        "*/5 * * * *",
        "2026-11-22T10:20:00+00:00",
    ),
    "26-FriendsOfShopware-packages-plugin-sync.yaml": (
        "0 * * * *",
        "2026-11-22T11:00:00+00:00",
    ),
    "27-FriendsOfShopware-packages-elasticsearch-sync.yaml": (
        "50 * * * *",
        "2026-11-22T10:50:00+00:00",
    ),
    "28-osuAkatsuki-firewall-rules-ip-autoblock-job-production.yaml": (
        "0 * * * *",
        "2026-11-22T11:00:00+00:00",
    ),
    # timeZone America/Detroit: 05:17 EST now, 03:00 has passed today.
    "29-charlesthomas-homelab-offsite-backups-rsync-nas02.yaml": (
        "0 3 * * *",
        "2026-11-23T03:00:00-05:00",
    ),
    "30-fgeck-gorestic-homelab-gorestic-backup.yaml": (
        "0 3 * * *",
        "2026-11-23T03:00:00+00:00",
    ),
    "31-djensenius-gopod-gopod-example-radio-show.yaml": (
        "0 6 * * 1",
        "2026-11-23T06:00:00+00:00",
    ),
    "32-abossard-aks-the-good-stuff-spot-cronjob.yaml": (
        "* * * * *",
        "2026-11-22T10:18:00+00:00",
    ),
    # timeZone Asia/Tokyo: 19:17 JST now; next local midnight.
    "33-RHEMS-Japan-rhems-getssl-rhems-getssl.yaml": (
        "0 0 * * *",
        "2026-11-23T00:00:00+09:00",
    ),
    "34-azman0101-clean-pods-cleanup-gitlab.yaml": (
        "0 * * * *",
        "2026-11-22T11:00:00+00:00",
    ),
    "35-BouweCeunen-Cleanup-Completed-Pods-cleanup-completed-pods.yaml": (
        "0 0 * * 1",
        "2026-11-23T00:00:00+00:00",
    ),
    "36-kevin-shelaga-cronjob-cleaner-cronjob-cleaner.yaml": (
        "*/1 * * * *",
        "2026-11-22T10:18:00+00:00",
    ),
    # suspend: true; the schedule's next time is still defined.
    "37-UKHomeOffice-lightweight-kube-etl-myjob.yaml": (
        "* * * * *",
        "2026-11-22T10:18:00+00:00",
    ),
    "38-stefanprodan-kjob-kubectl.yaml": (
        "*/1 * * * *",
        "2026-11-22T10:18:00+00:00",
    ),
    # Minute 17 of this hour is the instant itself, so not after it.
    "39-kubernetes-test-infra-label-sync.yaml": (
        "17 * * * *",
        "2026-11-22T11:17:00+00:00",
    ),
    # Its comment says "Every day 23:17"; the schedule says every six hours.
    "40-tektoncd-plumbing-label-sync-cron.yaml": (
        "0 */6 * * *",
        "2026-11-22T12:00:00+00:00",
    ),
    "41-istio-test-infra-branchprotector.yaml": (
        "*/30 * * * *",
        "2026-11-22T10:30:00+00:00",
    ),
    "42-Becram-auth-ecr-private-ecr-cred-helper.yaml": (
        "*/5 * * * *",
        "2026-11-22T10:20:00+00:00",
    ),
    "43-chrisns-k8update-k8update.yaml": (
        "@hourly",
        "2026-11-22T11:00:00+00:00",
    ),
    "44-dignajar-another-autoscaler-minute-cronjob.yaml": (
        "* * * * *",
        "2026-11-22T10:18:00+00:00",
    ),
    # Generated, JSON-style quoted keys.
    "45-GoogleCloudPlatform-ml-testing-accelerators-pt-nightly-mnist-conv-v3-8-1vm.yaml": (
        "30 13 * * *",
        "2026-11-22T13:30:00+00:00",
    ),
}

# file -> timeZone, for the manifests that set one.
TIME_ZONES = {
    "23-k8tz-k8tz-hello.yaml": "Europe/Dublin",
    "29-charlesthomas-homelab-offsite-backups-rsync-nas02.yaml": "America/Detroit",
    "30-fgeck-gorestic-homelab-gorestic-backup.yaml": "Etc/UTC",
    "31-djensenius-gopod-gopod-example-radio-show.yaml": "Etc/UTC",
    "33-RHEMS-Japan-rhems-getssl-rhems-getssl.yaml": "Asia/Tokyo",
}


def corpus_files() -> list[str]:
    return sorted(path.name for path in require_cronjobs().glob("*.yaml"))


def cronjob(name: str) -> dict[str, Any]:
    """The one CronJob document of a corpus file."""
    text = (require_cronjobs() / name).read_text()
    documents = [doc for doc in yaml.safe_load_all(text) if doc]
    cronjobs = [doc for doc in documents if doc.get("kind") == "CronJob"]
    assert len(cronjobs) == 1, f"{name}: expected one CronJob, found {len(cronjobs)}"
    found: dict[str, Any] = cronjobs[0]
    return found


def test_table_covers_the_corpus_exactly() -> None:
    assert corpus_files() == sorted(EXPECTED)
    assert len(EXPECTED) == 45


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cronjob_gets_its_next_schedule_time(name: str) -> None:
    manifest = cronjob(name)
    spec = manifest["spec"]
    schedule_text, expected = EXPECTED[name]
    assert spec["schedule"] == schedule_text
    assert spec.get("timeZone") == TIME_ZONES.get(name)
    namespace = manifest["metadata"].get("namespace", "default")
    schedule = parse_cron(spec["schedule"], hash_key=f"{namespace}/{manifest['metadata']['name']}")
    tz = load_time_zone(spec.get("timeZone"))
    got = next_fire_time([schedule], AFTER, tz)
    assert got is not None
    assert got.isoformat() == expected
