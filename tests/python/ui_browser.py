"""The /ui dashboard in headless Chromium, driven by selenium, against an ACL-enabled agent.

Usage: ui_browser.py BASE_URL, with UI_VIEWER_TOKEN (read-only token), UI_MANAGEMENT_TOKEN
(to scale the job while the page is open) and UI_WEB_JOB (the job with one instance) in the
environment. DEPLOY_UI_SCREENSHOTS=DIR saves a PNG of each page there. Prints
"ui: every page checked" when every check passed.
"""
import json
import os
import shutil
import sys
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

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
    assert driver.execute_script("return document.cookie") == "", "the token is not a cookie"
    shot(driver, "jobs")

    # The job page, open while the job has no allocation; a marker shows it is never reloaded.
    click(driver, By.LINK_TEXT, "web")
    wait_text(driver, "frontend", "job page groups")
    wait_text(driver, "No allocations.", "job page before scaling")
    driver.execute_script("window.__notReloaded = true")
    put_job(os.environ["UI_WEB_JOB"])
    wait_text(driver, "running", "the allocation, live on the job page", 90, "job-allocs")
    assert driver.execute_script("return window.__notReloaded === true"), "the job page reloaded"
    shot(driver, "job")

    # The allocation: task state, events and its log line, streamed.
    click(driver, By.CSS_SELECTOR, "#job-allocs tbody a")
    wait_text(driver, "Started", "the task's events", 60, "alloc-tasks")
    assert "server running" in text(driver, "alloc-tasks"), text(driver)
    wait_text(driver, "hello from the web task", "the task's log", 60, "log")
    assert "running" in text(driver, "client-status"), text(driver)
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
    wait_text(driver, "Eligibility", "nodes page")
    shot(driver, "nodes")

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
