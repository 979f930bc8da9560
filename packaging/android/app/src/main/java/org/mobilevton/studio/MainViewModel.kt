package org.mobilevton.studio

import android.app.Application
import android.graphics.Bitmap
import android.net.Uri
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import java.util.concurrent.Executors

/*
 * Owns the pipeline and runs it off the main thread: one dedicated engine thread holds the
 * ONNX Runtime sessions (as the desktop studio's worker does). A run reports "step x/N"
 * progress; cancel is checked between steps and also interrupts the graph in flight.
 */

enum class Slot { PORTRAIT, GARMENT }

class Picked(val name: String, val image: RgbImage, val preview: Bitmap)

data class UiState(
    val ready: Boolean = false,
    val bundleInfo: String = "",
    val categories: List<String> = emptyList(),
    val resolutions: List<String> = emptyList(),
    val portrait: Picked? = null,
    val garment: Picked? = null,
    val running: Boolean = false,
    val stage: String = "",
    val step: Int = 0,
    val steps: Int = 0,
    val result: Bitmap? = null,
    val resultName: String = "",
    val message: String? = null
)

class MainViewModel(app: Application) : AndroidViewModel(app) {
    private val _state = MutableStateFlow(UiState())
    val state: StateFlow<UiState> = _state.asStateFlow()

    private val engineExecutor = Executors.newSingleThreadExecutor { r -> Thread(r, "vton-engine") }
    private val engine = engineExecutor.asCoroutineDispatcher()
    private var pipeline: TryOnPipeline? = null
    private var job: Job? = null

    init {
        viewModelScope.launch(engine) {
            try {
                val installed = BundleStore.install(getApplication())
                // big cores do the work; more threads than that only contend
                val threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()))
                val p = TryOnPipeline(installed.dir, installed.manifest, threads, BuildConfig.ONNXRUNTIME_VERSION)
                p.warmUp()
                pipeline = p
                val m = installed.manifest
                _state.update {
                    it.copy(
                        ready = true,
                        categories = m.categories,
                        resolutions = m.resolutions.map { r -> r.key },
                        bundleInfo = app.getString(
                            R.string.bundle_info, m.name, m.defaultResolution.key, m.sigmas.size,
                            if (m.trained) "" else app.getString(R.string.untrained)
                        )
                    )
                }
            } catch (e: Exception) {
                _state.update { it.copy(message = app.getString(R.string.bundle_failed, e.message ?: e.toString())) }
            }
        }
    }

    fun pick(slot: Slot, uri: Uri) {
        viewModelScope.launch(Dispatchers.IO) {
            try {
                val resolver = getApplication<Application>().contentResolver
                val (image, bitmap) = AndroidImages.load(resolver, uri)
                val picked = Picked(AndroidImages.displayName(resolver, uri), image, bitmap)
                _state.update {
                    if (slot == Slot.PORTRAIT) it.copy(portrait = picked, message = null) else it.copy(garment = picked, message = null)
                }
            } catch (e: InputException) {
                _state.update { it.copy(message = e.message) }
            }
        }
    }

    fun run(category: String, resolutionKey: String?, seed: Long) {
        val s = _state.value
        val p = pipeline
        val app = getApplication<Application>()
        if (s.running || p == null) return
        val portrait = s.portrait
        val garment = s.garment
        if (portrait == null || garment == null) {
            _state.update { it.copy(message = app.getString(R.string.need_both)) }
            return
        }
        val resolution = p.manifest.resolutions.firstOrNull { it.key == resolutionKey }
        val request = TryOnRequest(portrait.image, garment.image, category, seed, resolution)
        _state.update { it.copy(running = true, message = null, stage = Progress.LOAD, step = 0) }
        job = viewModelScope.launch(engine) {
            val started = System.nanoTime()
            try {
                val result = p.run(
                    request,
                    progress = { pr -> _state.update { it.copy(stage = pr.stage, step = pr.step, steps = pr.steps) } },
                    checkCancelled = { ensureActive() }
                )
                val bitmap = AndroidImages.toBitmap(result.image)
                val seconds = (System.nanoTime() - started) / 1e9
                _state.update {
                    it.copy(
                        result = bitmap,
                        resultName = "vton-${portrait.name.substringBeforeLast('.')}-$category-$seed.png",
                        message = app.getString(R.string.done, result.steps, seconds)
                    )
                }
            } catch (e: CancellationException) {
                _state.update { it.copy(message = app.getString(R.string.cancelled)) }
                throw e
            } catch (e: Exception) {
                _state.update { it.copy(message = app.getString(R.string.failed, e.message ?: e.toString())) }
            } finally {
                _state.update { it.copy(running = false) }
            }
        }
    }

    fun cancel() {
        pipeline?.cancel()
        job?.cancel()
    }

    fun save() {
        val s = _state.value
        val bitmap = s.result ?: return
        val app = getApplication<Application>()
        viewModelScope.launch(Dispatchers.IO) {
            val message = try {
                AndroidImages.saveToGallery(app.contentResolver, bitmap, s.resultName)
                app.getString(R.string.saved, s.resultName)
            } catch (e: Exception) {
                app.getString(R.string.save_failed, e.message ?: e.toString())
            }
            _state.update { it.copy(message = message) }
        }
    }

    fun dismissMessage() {
        _state.update { it.copy(message = null) }
    }

    override fun onCleared() {
        cancel()
        val p = pipeline
        pipeline = null
        // close the sessions on the thread that owns them, then stop that thread
        engineExecutor.execute {
            try {
                p?.close()
            } finally {
                engine.close()
            }
        }
        super.onCleared()
    }
}
