/* brushwork live: an exported style run in the browser with onnxruntime-web, on a webcam or a video file, frame by
   frame, with no server doing the work. Used by `brushwork serve`'s page (Live) and by the static sites that
   `brushwork export-web` writes. Plain script, no build step: it defines window.BrushworkLive.

     await BrushworkLive.camera(video);                     // or BrushworkLive.file(video, fileInput.files[0])
     await BrushworkLive.start({model: "model.onnx", runtime: "ort/", video, canvas, label, side: 320});
     BrushworkLive.state.fps                                // frames per second over the last 30 frames
     BrushworkLive.stop();

   The model is a brushwork export: uint8 (1, H, W, 3) RGB in, uint8 (1, H, W, 3) RGB out, all per-pixel work inside
   the graph, so a frame is one session.run. WebGPU runs where the browser has it, else WASM (SIMD; threads where
   the page is cross-origin isolated, which `brushwork serve` arranges with COOP/COEP headers). */
(function () {
  "use strict";

  const state = {running: false, frames: 0, fps: 0, backend: null, width: 0, height: 0, error: null,
                 input: null, output: null};
  let done = Promise.resolve();

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.crossOrigin = "anonymous";
      script.onload = resolve;
      script.onerror = () => reject(new Error("could not load the onnxruntime-web runtime from " + src));
      document.head.appendChild(script);
    });
  }

  async function runtime(base) {
    base = new URL(base, document.baseURI).href;  // absolute: the runtime's workers resolve it from elsewhere
    if (!window.ort) await loadScript(base + "ort.min.js");
    window.ort.env.wasm.wasmPaths = base;
    return window.ort;
  }

  // The session on the first backend that opens it: WebGPU where the browser has it (unless asked), else WASM.
  async function open(model, base, backend, threads) {
    const ort = await runtime(base);
    const cores = navigator.hardwareConcurrency || 1;
    ort.env.wasm.numThreads = window.crossOriginIsolated ? Math.min(threads || cores, 16) : 1;
    const order = backend ? [backend] : (navigator.gpu ? ["webgpu", "wasm"] : ["wasm"]);
    let failure = null;
    for (const name of order) {
      try {
        const session = await ort.InferenceSession.create(model, {executionProviders: [name],
                                                                  graphOptimizationLevel: "all"});
        state.backend = name === "wasm" ? `WASM, ${ort.env.wasm.numThreads} thread(s)` : "WebGPU";
        return session;
      } catch (e) {
        failure = e;
      }
    }
    throw failure;
  }

  // One RGBA frame through the model; the RGB bytes in and out are kept for checks (state.input, state.output).
  async function stylize(session, image) {
    const {width, height, data} = image;
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
      rgb[j] = data[i]; rgb[j + 1] = data[i + 1]; rgb[j + 2] = data[i + 2];
    }
    const feeds = {[session.inputNames[0]]: new window.ort.Tensor("uint8", rgb, [1, height, width, 3])};
    const out = (await session.run(feeds))[session.outputNames[0]].data;
    const painted = new ImageData(width, height);
    for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
      painted.data[i] = out[j]; painted.data[i + 1] = out[j + 1]; painted.data[i + 2] = out[j + 2];
      painted.data[i + 3] = 255;
    }
    Object.assign(state, {input: rgb, output: out, width, height});
    return painted;
  }

  // The frame size: the longest side `side` (never larger than the source), even sides.
  function fit(width, height, side) {
    const scale = Math.min(1, side / Math.max(width, height));
    return [Math.max(2, 2 * Math.round(width * scale / 2)), Math.max(2, 2 * Math.round(height * scale / 2))];
  }

  async function start({model, runtime: base, video, canvas, label, side = 320, backend, threads}) {
    await stop();
    const session = await open(model, base, backend, threads);
    Object.assign(state, {running: true, frames: 0, fps: 0, error: null});
    const work = document.createElement("canvas");
    const source = work.getContext("2d", {willReadFrequently: true});
    const shown = canvas.getContext("2d");
    const times = [];
    done = (async () => {
      try {
        while (state.running) {
          if (video.readyState < 2 || !video.videoWidth) {
            await new Promise((r) => setTimeout(r, 20));
            continue;
          }
          const [w, h] = fit(video.videoWidth, video.videoHeight, side);
          if (work.width !== w || work.height !== h) {
            work.width = canvas.width = w;
            work.height = canvas.height = h;
          }
          source.drawImage(video, 0, 0, w, h);
          shown.putImageData(await stylize(session, source.getImageData(0, 0, w, h)), 0, 0);
          state.frames += 1;
          times.push(performance.now());
          if (times.length > 30) times.shift();
          if (times.length > 1) state.fps = (times.length - 1) * 1000 / (times[times.length - 1] - times[0]);
          if (label) label.textContent = `${state.fps.toFixed(1)} fps at ${w}x${h}, ${state.backend}, in this browser`;
          await new Promise((r) => setTimeout(r, 0));  // let the page breathe between frames
        }
      } catch (e) {
        state.error = String(e && e.message || e);
        if (label) label.textContent = "Live stopped: " + state.error;
      } finally {
        state.running = false;
        await session.release();
      }
    })();
  }

  async function stop() {
    state.running = false;
    await done;
  }

  async function camera(video, {width = 640, height = 480} = {}) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("this browser gives no camera here (pages need https or localhost for one)");
    }
    video.srcObject = await navigator.mediaDevices.getUserMedia({video: {width, height}, audio: false});
    video.muted = true;
    await video.play();
  }

  async function file(video, blob) {
    video.srcObject = null;
    video.src = URL.createObjectURL(blob);
    Object.assign(video, {loop: true, muted: true});
    await video.play();
  }

  // The last frame in and out as base64 RGB bytes (for checks against the Python runtime).
  function snapshot() {
    const encode = (bytes) => {
      let text = "";
      for (let i = 0; i < bytes.length; i += 32768) text += String.fromCharCode(...bytes.subarray(i, i + 32768));
      return btoa(text);
    };
    if (!state.input) return null;
    return {width: state.width, height: state.height, input: encode(state.input), output: encode(state.output)};
  }

  window.BrushworkLive = {start, stop, camera, file, snapshot, state};
})();
