"""The /ui dashboard in headless Chromium, driven by selenium, against an ACL-enabled agent.

Usage: ui_browser.py BASE_URL, with UI_VIEWER_TOKEN (read-only token), UI_MANAGEMENT_TOKEN
(to change jobs while a page is open), UI_WEB_JOB (the job with one instance) and UI_LATE_JOB
(a job registered while the jobs page is open) in the environment. DEPLOY_UI_SCREENSHOTS=DIR saves a PNG of each page there. Prints
"ui: every page checked" when every check passed.
"""
import json
import os
import re
import shutil
import sys
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

base = sys.argv[1]
viewer = os.environ["UI_VIEWER_TOKEN"]
management = os.environ["UI_MANAGEMENT_TOKEN"]
shots = os.environ.get("DEPLOY_UI_SCREENSHOTS")


def browser():
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        opts.add_argument(arg)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            opts.binary_location = shutil.which(name)
            break
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def shot(driver, name):
    if shots:
        os.makedirs(shots, exist_ok=True)
        # Full page height, so the screenshot shows the whole page.
        height = driver.execute_script("return document.documentElement.scrollHeight")
        width = driver.execute_script("return window.innerWidth")
        driver.set_window_size(max(width, 360), max(height + 120, 600))
        driver.save_screenshot(os.path.join(shots, name + ".png"))
        driver.set_window_size(1280, 900)


def text(driver, element="main"):
    # Read in the page: live pages replace their nodes, and a held element would go stale.
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.innerText : ''", element)


def click(driver, how, what):
    def attempt(d):
        try:
            d.find_element(how, what).click()
            return True
        except StaleElementReferenceException:
            return False
    WebDriverWait(driver, 30, poll_frequency=0.2).until(attempt)


def wait_text(driver, needle, what, timeout=60, element="main"):
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: needle in text(d, element))
    except Exception:
        raise AssertionError(f"{what}: {needle!r} never appeared; page shows:\n{text(driver)}")


def put_job(body):
    req = urllib.request.Request(base + "/v1/jobs", data=body.encode(), method="PUT",
                                 headers={"X-Nomad-Token": management, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as resp:
        assert resp.status == 200, resp.status


driver = browser()
try:
    # Anonymous: the shell loads, the API refuses, no job shows.
    driver.get(base + "/ui")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "denied"))
    assert "web" not in text(driver) and "nowhere" not in text(driver), text(driver)
    shot(driver, "login")

    # Log in with the read-only token.
    driver.find_element(By.ID, "token").send_keys(viewer)
    driver.find_element(By.ID, "token-save").click()
    wait_text(driver, "nowhere", "jobs list")
    wait_text(driver, "web", "jobs list")
    wait_text(driver, "ledger", "jobs list: the stack's job")
    for job in ["store", "api", "frontend", "preflight", "worker", "report"]:
        wait_text(driver, job, "jobs list: the webapp example's job " + job, 30, "jobs")
    assert driver.execute_script("return document.cookie") == "", "the token is not a cookie"
    # The list is live: a job registered now appears without a reload.
    driver.execute_script("window.__notReloaded = true")
    put_job(os.environ["UI_LATE_JOB"])
    wait_text(driver, "late", "a new job, live on the jobs page", 90, "jobs")
    assert driver.execute_script("return window.__notReloaded === true"), "the jobs page reloaded"
    shot(driver, "jobs")

    # The job page, open while the job has no allocation; a marker shows it is never reloaded.
    click(driver, By.LINK_TEXT, "web")
    wait_text(driver, "frontend", "job page groups")
    wait_text(driver, "No allocations.", "job page before scaling")
    driver.execute_script("window.__notReloaded = true")
    put_job(os.environ["UI_WEB_JOB"])
    wait_text(driver, "running", "the allocation, live on the job page", 90, "job-allocs")
    assert driver.execute_script("return window.__notReloaded === true"), "the job page reloaded"
    # The deployment marks it healthy once it has run for min_healthy_time (Nomad's 10 s).
    try:
        WebDriverWait(driver, 90, poll_frequency=0.2).until(
            lambda d: re.search(r"(?<!un)healthy", text(d, "job-allocs")))
    except Exception:
        raise AssertionError(f"the allocation never turned healthy live; page shows:\n{text(driver)}")
    assert driver.execute_script("return window.__notReloaded === true"), "the job page reloaded"
    wait_text(driver, "diff with 0", "the job's versions", 30, "job-versions")
    shot(driver, "job")
    job_page = driver.current_url

    # Versions: the diff between version 0 (no instance) and 1 (one), from the job page's link.
    click(driver, By.LINK_TEXT, "diff with 0")
    wait_text(driver, "Count", "the diff of versions 0 and 1", 30, "version-diff")
    diff = text(driver, "version-diff")
    assert "0" in diff and "1" in diff and "frontend" in diff, diff
    shot(driver, "versions")
    # The same two versions the other way round, through the form.
    Select(driver.find_element(By.ID, "version-a")).select_by_value("1")
    Select(driver.find_element(By.ID, "version-b")).select_by_value("0")
    driver.find_element(By.ID, "compare").click()
    wait_text(driver, "Version 1 → 0", "the reversed comparison")
    driver.get(job_page)
    wait_text(driver, "running", "back on the job page", 60, "job-allocs")

    # The allocation: task state, events and its log line, streamed.
    click(driver, By.CSS_SELECTOR, "#job-allocs tbody a")
    wait_text(driver, "Started", "the task's events", 60, "alloc-tasks")
    assert "server running" in text(driver, "alloc-tasks"), text(driver)
    wait_text(driver, "hello from the web task", "the task's log", 60, "log")
    assert "running" in text(driver, "alloc-facts"), text(driver)
    assert driver.execute_script("return window.__notReloaded === true"), "the page reloaded"
    shot(driver, "allocation")

    # The job no node can run: the constraint that filtered the node, in words.
    driver.get(base + "/ui#/job/nowhere?namespace=default")
    wait_text(driver, "could not be placed", "placement failure", 60, "placement-failures")
    failure = text(driver, "placement-failures")
    assert "${attr.kernel.name}" in failure and "plan9" in failure and "filtered 1 node" in failure, failure
    shot(driver, "placement-failure")

    driver.get(base + "/ui#/nodes")
    wait_text(driver, "raw_exec", "nodes page drivers")
    wait_text(driver, "eligible", "nodes page")
    shot(driver, "nodes")
    click(driver, By.CSS_SELECTOR, "#nodes tbody a")
    wait_text(driver, "Resources", "the node page")
    wait_text(driver, "web", "the node's allocations", 30, "node-allocs")
    assert "MHz" in text(driver, "node-resources"), text(driver)
    shot(driver, "node")

    # Variables: paths listed; item keys shown, values only once revealed, and refused where
    # the token may only list.
    driver.get(base + "/ui#/vars")
    wait_text(driver, "secret/db", "variables list")
    click(driver, By.LINK_TEXT, "app/config")
    wait_text(driver, "password", "the variable's keys", 30, "var-items")
    assert "ui-secret-pw" not in driver.page_source, "a value was sent before it was revealed"
    shot(driver, "variable")
    click(driver, By.ID, "reveal")
    wait_text(driver, "ui-secret-pw", "the revealed value", 30, "var-items")
    driver.get(base + "/ui#/var/secret/db?namespace=default&reveal=1")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "denied"))
    assert "ui-db-secret" not in driver.page_source, "a value the token may not read was shown"

    # Stacks: the shared stack's revisions, the jobs of the latest, and a revision's plan.
    driver.get(base + "/ui#/stacks")
    wait_text(driver, "shop", "stacks list")
    click(driver, By.LINK_TEXT, "shop")
    wait_text(driver, "revision 2", "the stack's revisions", 30, "stack-revisions")
    assert "revision 1" in text(driver, "stack-revisions"), text(driver)
    assert "job.ledger" in text(driver, "stack-jobs"), text(driver)
    shot(driver, "stack")
    click(driver, By.LINK_TEXT, "revision 2")
    wait_text(driver, "1 to replace", "revision 2's plan", 30, "revision-plan")
    assert '"true" => "/bin/true"' in text(driver, "revision-plan"), text(driver)
    shot(driver, "revision")

    driver.get(base + "/ui#/servers")
    wait_text(driver, "leader", "servers page role")
    wait_text(driver, "Last log index", "servers page")
    shot(driver, "servers")

    # Phone width: the same pages stay readable (one column, labelled cells).
    driver.set_window_size(390, 844)
    driver.get(base + "/ui#/jobs")
    wait_text(driver, "nowhere", "jobs list at phone width")
    if shots:
        driver.save_screenshot(os.path.join(shots, "jobs-phone.png"))

    # Forgetting the token hides the data again.
    driver.set_window_size(1280, 900)
    driver.find_element(By.ID, "token-clear").click()
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "denied"))
    assert driver.execute_script("return sessionStorage.length") == 0
    print("ui: every page checked")
finally:
    driver.quit()
