package main

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
)

// openBrowser starts the user's browser on url: $BROWSER if set, else the
// platform's opener. Over SSH (no display) it does nothing, so the user
// follows the printed URL.
func openBrowser(url string) error {
	if b := os.Getenv("BROWSER"); b != "" {
		return exec.Command(b, url).Start()
	}
	switch runtime.GOOS {
	case "darwin":
		return exec.Command("open", url).Start()
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url).Start()
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errors.New("no display")
	}
	return exec.Command("xdg-open", url).Start()
}
