"""Amplify Hosting apps, branches and jobs, held in the state a test or the demo puts them in.

moto 5 has no Amplify at all, so this fill owns every operation jobwarden and its tests call:
CreateApp, GetApp, ListApps, CreateBranch, GetBranch, ListBranches, StartJob, ListJobs, GetJob,
StopJob. AWS publishes no example responses for Amplify (no AWS CLI examples, none in the API
reference beyond its response syntax), so most of what follows is marked an assumption.

Where each behaviour comes from (beyond what botocore's model allows):
- Job statuses PENDING, PROVISIONING, RUNNING, CANCELLING and the ended SUCCEED, FAILED,
  CANCELLED are the model's JobStatus values. **Assumption**: a job starts PENDING and moves
  only forward, when `set_status` moves it.
- **Assumption**: StopJob cancels a PENDING job at once (CANCELLED) and puts a PROVISIONING or
  RUNNING one in CANCELLING (its build instance is still being torn down) until `set_status`
  ends it; on a job that has ended it answers BadRequestException.
- StartJob with jobType RETRY needs `jobId` (the model: "This is required if the value of
  jobType is RETRY"). **Assumption**: it starts a new job for the retried job's commit, and
  refuses a job that has not ended (BadRequestException).
- **Assumption**: job ids are numbered per branch from 1 (the model's pattern `[0-9]+`), and
  ListJobs answers newest first; ListApps and ListBranches answer in creation order. Without
  `maxResults` each list call answers the model's largest page (apps 100, branches 50, jobs 50).
- **Assumption**: GetBranch's `activeJobId` is the branch's latest started job; an app's
  `jobConfig.buildComputeType` is STANDARD_8GB unless the app asks for another.
- **Assumption**: an open step repeats its start as `endTime` (the model requires `endTime`).
- Errors: NotFoundException for a missing app, branch or job where the operation declares it;
  ListBranches and ListJobs declare no NotFoundException, so a missing app or branch there is
  **assumed** to be BadRequestException.
"""

from __future__ import annotations

import secrets
import string
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import time_machine

from jobwarden.aws import Clients
from jobwarden.local.emulator import ACCOUNT_ID, AwsError, Emulator, Handler, ServiceFill, page

# Largest page each list operation allows (botocore's model), used when maxResults is absent.
APPS_PAGE, BRANCHES_PAGE, JOBS_PAGE = 100, 50, 50
ACTIVE = frozenset({"PENDING", "PROVISIONING", "RUNNING"})
ENDED = frozenset({"SUCCEED", "FAILED", "CANCELLED"})
# Statuses only move forward, along this order (every ended status ranks last).
RANK = {"PENDING": 0, "PROVISIONING": 1, "RUNNING": 2, "CANCELLING": 3} | dict.fromkeys(ENDED, 4)


class AmplifyFill(ServiceFill):
    service = "amplify"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.apps: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # region -> app id
        # region -> (app id, branch) -> branch / job id -> {"summary", "steps"}
        self.branches: dict[str, dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)
        self.jobs: dict[str, dict[tuple[str, str], dict[str, dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(dict)
        )

    def operations(self) -> dict[str, Handler]:
        return {
            "CreateApp": self.create_app,
            "GetApp": self.get_app,
            "ListApps": self.list_apps,
            "CreateBranch": self.create_branch,
            "GetBranch": self.get_branch,
            "ListBranches": self.list_branches,
            "StartJob": self.start_job,
            "ListJobs": self.list_jobs,
            "GetJob": self.get_job,
            "StopJob": self.stop_job,
        }

    # --- the API ---------------------------------------------------------------------------

    def create_app(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        now = self.now()
        app_id = "d" + "".join(
            secrets.choice(string.ascii_lowercase + string.digits) for _ in range(13)
        )
        app = {
            "appId": app_id,
            "appArn": f"arn:aws:amplify:{region}:{ACCOUNT_ID}:apps/{app_id}",
            "name": params["name"],
            "description": params.get("description", ""),
            "repository": params.get("repository", ""),
            "platform": params.get("platform", "WEB"),
            "createTime": now,
            "updateTime": now,
            "environmentVariables": params.get("environmentVariables", {}),
            "defaultDomain": f"{app_id}.amplifyapp.com",
            "enableBranchAutoBuild": params.get("enableBranchAutoBuild", False),
            "enableBasicAuth": params.get("enableBasicAuth", False),
            # Amplify reports the build instance it will use, the default when none was asked.
            "jobConfig": params.get("jobConfig", {"buildComputeType": "STANDARD_8GB"}),
            **({"tags": params["tags"]} if params.get("tags") else {}),
        }
        self.apps[region][app_id] = app
        return {"app": app}

    def get_app(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        app = self.apps[region].get(params["appId"])
        if app is None:
            raise AwsError("NotFoundException", f"App {params['appId']} not found.", 404)
        return {"app": app}

    def list_apps(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        apps = sorted(self.apps[region].values(), key=lambda a: (a["createTime"], a["appId"]))
        found, token = _page(apps, params, APPS_PAGE)
        return {"apps": found, **({"nextToken": token} if token else {})}

    def create_branch(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        app = self._app(params["appId"], region, "NotFoundException")
        name = params["branchName"]
        if (app["appId"], name) in self.branches[region]:
            raise AwsError("BadRequestException", f"Branch {name} already exists.")
        now = self.now()
        branch = {
            "branchArn": f"{app['appArn']}/branches/{name}",
            "branchName": name,
            "description": params.get("description", ""),
            "stage": params.get("stage", "PRODUCTION"),
            "displayName": params.get("displayName", name),
            "enableNotification": params.get("enableNotification", False),
            "createTime": now,
            "updateTime": now,
            "environmentVariables": params.get("environmentVariables", {}),
            "enableAutoBuild": params.get("enableAutoBuild", True),
            "customDomains": [],
            "framework": params.get("framework", ""),
            "activeJobId": "",
            "totalNumberOfJobs": "0",
            "enableBasicAuth": params.get("enableBasicAuth", False),
            "ttl": params.get("ttl", "5"),
            "enablePullRequestPreview": params.get("enablePullRequestPreview", False),
            **({"tags": params["tags"]} if params.get("tags") else {}),
        }
        self.branches[region][(app["appId"], name)] = branch
        return {"branch": branch}

    def get_branch(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        branch = self.branches[region].get((params["appId"], params["branchName"]))
        if branch is None:
            raise AwsError("NotFoundException", f"Branch {params['branchName']} not found.", 404)
        return {"branch": branch}

    def list_branches(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        app = self._app(params["appId"], region, "BadRequestException")
        branches = [b for (a, _), b in self.branches[region].items() if a == app["appId"]]
        branches.sort(key=lambda b: (b["createTime"], b["branchName"]))
        found, token = _page(branches, params, BRANCHES_PAGE)
        return {"branches": found, **({"nextToken": token} if token else {})}

    def start_job(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        branch = self._branch(params["appId"], params["branchName"], region, "NotFoundException")
        jobs = self.jobs[region][(params["appId"], params["branchName"])]
        now = self.now()
        if params["jobType"] == "RETRY":
            if "jobId" not in params:
                raise AwsError("BadRequestException", "jobId is required to retry a job.")
            retried = jobs.get(params["jobId"])
            if retried is None:
                raise AwsError("NotFoundException", f"Job {params['jobId']} not found.", 404)
            if retried["summary"]["status"] not in ENDED:
                raise AwsError("BadRequestException", f"Job {params['jobId']} has not ended.")
            commit = {k: retried["summary"][k] for k in ("commitId", "commitMessage", "commitTime")}
        else:
            commit = {
                "commitId": params.get("commitId", secrets.token_hex(20)),
                "commitMessage": params.get("commitMessage", f"{params['jobType']} job"),
                "commitTime": params.get("commitTime", now),
            }
        job_id = str(int(branch["totalNumberOfJobs"]) + 1)
        summary = {
            "jobArn": f"{branch['branchArn']}/jobs/{job_id}",
            "jobId": job_id,
            **commit,
            "startTime": now,
            "status": "PENDING",
            "jobType": params["jobType"],
        }
        jobs[job_id] = {"summary": summary, "steps": []}
        branch.update(activeJobId=job_id, totalNumberOfJobs=job_id, updateTime=now)
        return {"jobSummary": summary}

    def list_jobs(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        self._branch(params["appId"], params["branchName"], region, "BadRequestException")
        jobs = self.jobs[region][(params["appId"], params["branchName"])]
        newest_first = sorted(jobs.values(), key=lambda j: int(j["summary"]["jobId"]), reverse=True)
        found, token = _page([j["summary"] for j in newest_first], params, JOBS_PAGE)
        return {"jobSummaries": found, **({"nextToken": token} if token else {})}

    def get_job(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        return {"job": self._job(params, region)}

    def stop_job(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        job = self._job(params, region)
        status = job["summary"]["status"]
        if status not in ACTIVE:
            raise AwsError("BadRequestException", f"Job {params['jobId']} is {status}.")
        self._move(job, "CANCELLED" if status == "PENDING" else "CANCELLING")
        return {"jobSummary": job["summary"]}

    # --- controls for tests and the demo ----------------------------------------------------

    def set_status(
        self, app_id: str, branch: str, job_id: str, status: str, step: str = "BUILD"
    ) -> dict[str, Any]:
        """Move a job forward to `status` at the emulator's current time.

        RUNNING opens step `step`; CANCELLING and the ended statuses close the open step.
        """
        job = self._find(app_id, branch, job_id)
        current = job["summary"]["status"]
        if RANK[status] <= RANK[current]:
            raise ValueError(f"job {app_id}/{branch}/{job_id} is {current}, past {status}")
        self._move(job, status, step)
        return job

    def _move(self, job: dict[str, Any], status: str, step: str = "BUILD") -> None:
        now = self.now()
        summary, steps = job["summary"], job["steps"]
        open_step = (
            steps[-1] if steps and steps[-1]["status"] in ("RUNNING", "CANCELLING") else None
        )
        if status == "RUNNING":
            # The model requires a step's endTime; an open step repeats its start until it ends.
            steps.append({"stepName": step, "startTime": now, "status": "RUNNING", "endTime": now})
        elif open_step is not None:
            open_step.update(status=status, endTime=now)
        summary["status"] = status
        if status in ENDED:
            summary["endTime"] = now

    def _find(self, app_id: str, branch: str, job_id: str) -> dict[str, Any]:
        for jobs in self.jobs.values():
            if job_id in jobs.get((app_id, branch), {}):
                return jobs[(app_id, branch)][job_id]
        raise KeyError(f"{app_id}/{branch}/{job_id}")

    def _app(self, app_id: str, region: str, error: str) -> dict[str, Any]:
        app = self.apps[region].get(app_id)
        if app is None:
            raise AwsError(
                error, f"App {app_id} not found.", 404 if error == "NotFoundException" else 400
            )
        return app

    def _branch(self, app_id: str, name: str, region: str, error: str) -> dict[str, Any]:
        self._app(app_id, region, error)
        branch = self.branches[region].get((app_id, name))
        if branch is None:
            raise AwsError(
                error, f"Branch {name} not found.", 404 if error == "NotFoundException" else 400
            )
        return branch

    def _job(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        self._branch(params["appId"], params["branchName"], region, "NotFoundException")
        job = self.jobs[region][(params["appId"], params["branchName"])].get(params["jobId"])
        if job is None:
            raise AwsError("NotFoundException", f"Job {params['jobId']} not found.", 404)
        return job


def _page(items: list[Any], params: dict[str, Any], largest: int) -> tuple[list[Any], str | None]:
    token = params.get("nextToken")
    if token is not None and not (token.isdigit() and int(token) <= len(items)):
        raise AwsError("BadRequestException", f"Invalid nextToken {token!r}.")
    return page(items, token, params.get("maxResults") or largest)


# --- the demo and the tests ----------------------------------------------------------------

DEMO_POLICIES: dict[str, dict[str, Any]] = {
    "amplify-builds": {
        "description": "Amplify builds: 20 minutes waiting for a build instance, or an hour "
        "building, is too long.",
        "match": {"services": ["amplify"]},
        "limits": {"max_queue_minutes": 20, "max_run_minutes": 60},
        "action": "stop",
        "priority": 100,
    },
}


def create_app(
    clients: Clients,
    name: str,
    tags: dict[str, str] | None = None,
    *,
    compute_type: str | None = None,
    branches: tuple[str, ...] = ("main",),
    region: str | None = None,
) -> str:
    """An app with `branches`; returns its id."""
    amplify = clients.client("amplify", region)
    config = {"jobConfig": {"buildComputeType": compute_type}} if compute_type else {}
    app_id: str = amplify.create_app(name=name, **({"tags": tags} if tags else {}), **config)[
        "app"
    ]["appId"]
    for branch in branches:
        amplify.create_branch(appId=app_id, branchName=branch)
    return app_id


def start_job(
    emulator: Emulator,
    clients: Clients,
    app_id: str,
    branch: str,
    started: datetime,
    *moves: tuple[timedelta, str],
) -> str:
    """Start a RELEASE job at `started`, then move it to each status `after` its start.

    Returns the job id as jobwarden names it (`app/branch/number`).
    """
    from jobwarden.services.amplify import qualified_id

    fill: AmplifyFill = emulator.fill("amplify")
    with time_machine.travel(started, tick=False):
        job_id: str = clients.client("amplify").start_job(
            appId=app_id, branchName=branch, jobType="RELEASE"
        )["jobSummary"]["jobId"]
    for after, status in moves:
        with time_machine.travel(started + after, tick=False):
            fill.set_status(app_id, branch, job_id, status)
    return qualified_id(app_id, branch, job_id)


def seed_demo(emulator: Emulator, clients: Clients, now: datetime) -> dict[str, str]:
    """One job stuck provisioning and one healthy build, over 60 finished jobs (two pages of
    ListJobs)."""
    with time_machine.travel(now - timedelta(days=2), tick=False):
        storefront = create_app(clients, "storefront", {"team": "web"})
        docs = create_app(clients, "docs-portal", {"team": "docs"})
    minute = timedelta(minutes=1)
    for n in range(60):
        started = now - timedelta(hours=21) + 20 * n * minute
        start_job(
            emulator,
            clients,
            storefront,
            "main",
            started,
            (minute, "PROVISIONING"),
            (2 * minute, "RUNNING"),
            (7 * minute, "SUCCEED"),
        )
    return {
        "storefront/main (stuck provisioning, queued 45 min)": start_job(
            emulator, clients, storefront, "main", now - 45 * minute, (minute, "PROVISIONING")
        ),
        "docs-portal/main (healthy, building 8 min)": start_job(
            emulator,
            clients,
            docs,
            "main",
            now - 10 * minute,
            (minute, "PROVISIONING"),
            (2 * minute, "RUNNING"),
        ),
    }


def describe_for_demo(clients: Clients, ids: dict[str, str]) -> dict[str, str]:
    """Each seeded job's status, read back through GetJob."""
    amplify = clients.client("amplify")
    statuses = {}
    for qualified in ids.values():
        app_id, rest = qualified.split("/", 1)
        branch, job_id = rest.rsplit("/", 1)
        job = amplify.get_job(appId=app_id, branchName=branch, jobId=job_id)["job"]
        statuses[qualified] = job["summary"]["status"]
    return statuses
